-- 010_CREATE_STAGING_DERIVADOS
-- Legacy Derivados staging tables: FX forwards and swaps valued in base
-- currency, and the fund's exposure.

CREATE TABLE IF NOT EXISTS staging.Derivados_WorkTable (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Contrato VARCHAR(30) NOT NULL,
    Tipo_Derivado VARCHAR(10) NOT NULL,
    MonedaCompra CHAR(3) NOT NULL,
    MontoCompraBase NUMERIC(19, 4) NOT NULL,
    MonedaVenta CHAR(3) NOT NULL,
    MontoVentaBase NUMERIC(19, 4) NOT NULL,
    ValorRazonableBase NUMERIC(19, 4) NOT NULL,
    DiasAlVencimiento INTEGER NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_derivados_worktable_ejecucion_fund ON staging.Derivados_WorkTable (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.Derivados_Final (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    NumContratos INTEGER NOT NULL,
    NocionalBase NUMERIC(19, 4) NOT NULL,
    ValorRazonableBase NUMERIC(19, 4) NOT NULL,
    ExposicionPct NUMERIC(9, 6) NULL
);

CREATE INDEX IF NOT EXISTS ix_derivados_final_ejecucion_fund ON staging.Derivados_Final (ID_Ejecucion, ID_Fund);
