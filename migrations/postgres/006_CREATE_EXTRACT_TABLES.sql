-- 006_CREATE_EXTRACT_TABLES
-- Legacy extract tables: per-run copies of the feeds, keyed only by the run's
-- shared ID_Ejecucion (no ID_Fund), stored as heaps with a nonclustered index
-- on ID_Ejecucion. This is the shape that makes 50 funds of one run fight for
-- the same index range; 017 re-keys them.

CREATE TABLE IF NOT EXISTS extract.IPA (
    ID_Ejecucion BIGINT NOT NULL,
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Tipo_Instrumento VARCHAR(10) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Cantidad NUMERIC(19, 4) NOT NULL,
    CostoLocal NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ipa_ejecucion ON extract.IPA (ID_Ejecucion);

CREATE TABLE IF NOT EXISTS extract.CAPM (
    ID_Ejecucion BIGINT NOT NULL,
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Movimiento VARCHAR(30) NOT NULL,
    TipoMovimiento VARCHAR(20) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Monto NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_capm_ejecucion ON extract.CAPM (ID_Ejecucion);

CREATE TABLE IF NOT EXISTS extract.PosModRF (
    ID_Ejecucion BIGINT NOT NULL,
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    FechaPrecio DATE NOT NULL,
    Precio NUMERIC(19, 6) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_posmodrf_ejecucion ON extract.PosModRF (ID_Ejecucion);

CREATE TABLE IF NOT EXISTS extract.SONA (
    ID_Ejecucion BIGINT NOT NULL,
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Saldo NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_sona_ejecucion ON extract.SONA (ID_Ejecucion);

CREATE TABLE IF NOT EXISTS extract.Derivados (
    ID_Ejecucion BIGINT NOT NULL,
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Contrato VARCHAR(30) NOT NULL,
    Tipo_Derivado VARCHAR(10) NOT NULL,
    MonedaCompra CHAR(3) NOT NULL,
    MontoCompra NUMERIC(19, 4) NOT NULL,
    MonedaVenta CHAR(3) NOT NULL,
    MontoVenta NUMERIC(19, 4) NOT NULL,
    FechaVencimiento DATE NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_derivados_ejecucion ON extract.Derivados (ID_Ejecucion);

CREATE TABLE IF NOT EXISTS extract.UBS (
    ID_Ejecucion BIGINT NOT NULL,
    FechaReporte DATE NOT NULL,
    Cuenta VARCHAR(50) NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Cantidad NUMERIC(19, 4) NOT NULL
);

CREATE INDEX IF NOT EXISTS ix_ubs_ejecucion ON extract.UBS (ID_Ejecucion);
