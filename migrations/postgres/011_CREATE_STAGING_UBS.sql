-- 011_CREATE_STAGING_UBS
-- Legacy UBS staging tables: custodian holdings, their reconciliation with the
-- accounting positions (the breaks), and the fund's reconciliation summary.

CREATE TABLE IF NOT EXISTS staging.UBS_WorkTable (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    CantidadCustodio NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ubs_worktable_ejecucion_fund ON staging.UBS_WorkTable (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.UBS_Reconciliacion (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    CantidadContable NUMERIC(19, 4) NOT NULL,
    CantidadCustodio NUMERIC(19, 4) NOT NULL,
    Diferencia NUMERIC(19, 4) NOT NULL,
    Estado_Conciliacion VARCHAR(20) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ubs_reconciliacion_ejecucion_fund ON staging.UBS_Reconciliacion (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.UBS_Final (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    NumInstrumentos INTEGER NOT NULL,
    NumQuiebres INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ubs_final_ejecucion_fund ON staging.UBS_Final (ID_Ejecucion, ID_Fund);
