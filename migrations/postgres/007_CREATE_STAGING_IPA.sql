-- 007_CREATE_STAGING_IPA
-- Legacy IPA (investment portfolio valuation) staging tables: rescued prices,
-- valued positions, cash lines and the final IPA. Heaps with a nonclustered
-- index on (ID_Ejecucion, ID_Fund); 017 re-keys them.

CREATE TABLE IF NOT EXISTS staging.IPA_Precios (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    PrecioLocal NUMERIC(19, 6) NOT NULL,
    FuentePrecio VARCHAR(10) NOT NULL,
    FechaPrecio DATE NULL,
    PrecioAnterior NUMERIC(19, 6) NULL
);

CREATE INDEX IF NOT EXISTS ix_ipa_precios_ejecucion_fund ON staging.IPA_Precios (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.IPA_WorkTable (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Tipo_Instrumento VARCHAR(10) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Cantidad NUMERIC(19, 4) NOT NULL,
    PrecioLocal NUMERIC(19, 6) NOT NULL,
    FuentePrecio VARCHAR(10) NOT NULL,
    ValorMercadoLocal NUMERIC(19, 4) NOT NULL,
    TipoCambio NUMERIC(19, 8) NOT NULL,
    ValorMercadoBase NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ipa_worktable_ejecucion_fund ON staging.IPA_WorkTable (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.IPA_Cash (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    Moneda CHAR(3) NOT NULL,
    SaldoLocal NUMERIC(19, 4) NOT NULL,
    TipoCambio NUMERIC(19, 8) NOT NULL,
    SaldoBase NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ipa_cash_ejecucion_fund ON staging.IPA_Cash (ID_Ejecucion, ID_Fund);

CREATE TABLE IF NOT EXISTS staging.IPA_Final (
    ID_Ejecucion BIGINT NOT NULL,
    ID_Fund INTEGER NOT NULL,
    Linea VARCHAR(30) NOT NULL,
    Tipo_Linea VARCHAR(10) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    ValorLocal NUMERIC(19, 4) NOT NULL,
    ValorBase NUMERIC(19, 4) NOT NULL,
    PesoPct NUMERIC(9, 6) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ipa_final_ejecucion_fund ON staging.IPA_Final (ID_Ejecucion, ID_Fund);
