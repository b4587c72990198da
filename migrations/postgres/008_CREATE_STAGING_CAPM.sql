-- 008_CREATE_STAGING_CAPM
-- Legacy CAPM (capital movements) staging tables: signed movements in base
-- currency and the fund's totals.

CREATE TABLE IF NOT EXISTS staging.CAPM_WorkTable (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Movimiento VARCHAR(30) NOT NULL,
    TipoMovimiento VARCHAR(20) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    MontoLocal NUMERIC(19, 4) NOT NULL,
    TipoCambio NUMERIC(19, 8) NOT NULL,
    MontoBase NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_capm_worktable_ejecucion_fund ON staging.CAPM_WorkTable (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.CAPM_Final (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    Suscripciones NUMERIC(19, 4) NOT NULL,
    Rescates NUMERIC(19, 4) NOT NULL,
    FlujoNeto NUMERIC(19, 4) NOT NULL,
    NumMovimientos INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_capm_final_ejecucion_fund ON staging.CAPM_Final (ID_Ejecucion, ID_Fund);
