-- 009_CREATE_STAGING_PNL
-- Legacy PNL staging tables: result per instrument from today's and the
-- previous price, and the fund's result and return net of capital flows.

CREATE TABLE IF NOT EXISTS staging.PNL_WorkTable (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Cantidad NUMERIC(19, 4) NOT NULL,
    PrecioLocal NUMERIC(19, 6) NOT NULL,
    PrecioAnterior NUMERIC(19, 6) NOT NULL,
    ResultadoLocal NUMERIC(19, 4) NOT NULL,
    ResultadoBase NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_pnl_worktable_ejecucion_fund ON staging.PNL_WorkTable (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.PNL_Final (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ResultadoBase NUMERIC(19, 4) NOT NULL,
    PatrimonioBase NUMERIC(19, 4) NOT NULL,
    FlujoNeto NUMERIC(19, 4) NOT NULL,
    RentabilidadPct NUMERIC(9, 6) NULL
);

CREATE INDEX IF NOT EXISTS ix_pnl_final_ejecucion_fund ON staging.PNL_Final (ID_Ejecucion, ID_Fund);
