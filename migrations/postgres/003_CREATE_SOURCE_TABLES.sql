-- 003_CREATE_SOURCE_TABLES
-- The upstream systems' daily feeds, as the extract steps find them: accounting
-- positions, prices, cash and FX (Geneva), capital movements (CAPM), derivative
-- contracts and custodian holdings (UBS). Read-only for the pipeline.

CREATE TABLE IF NOT EXISTS source.Geneva_Posiciones (
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Tipo_Instrumento VARCHAR(10) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Cantidad NUMERIC(19, 4) NOT NULL,
    CostoLocal NUMERIC(19, 4) NOT NULL,
    CONSTRAINT pk_geneva_posiciones PRIMARY KEY (Portfolio, FechaReporte, ID_Instrumento)
);

CREATE TABLE IF NOT EXISTS source.Geneva_Precios (
    FechaReporte DATE NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Precio NUMERIC(19, 6) NOT NULL,
    CONSTRAINT pk_geneva_precios PRIMARY KEY (ID_Instrumento, FechaReporte)
);

CREATE TABLE IF NOT EXISTS source.Geneva_Caja (
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Saldo NUMERIC(19, 4) NOT NULL,
    CONSTRAINT pk_geneva_caja PRIMARY KEY (Portfolio, FechaReporte, Moneda)
);

CREATE TABLE IF NOT EXISTS source.TiposCambio (
    FechaReporte DATE NOT NULL,
    Moneda CHAR(3) NOT NULL,
    TipoCambio NUMERIC(19, 8) NOT NULL,
    CONSTRAINT pk_tiposcambio PRIMARY KEY (FechaReporte, Moneda)
);

CREATE TABLE IF NOT EXISTS source.CAPM_Movimientos (
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Movimiento VARCHAR(30) NOT NULL,
    TipoMovimiento VARCHAR(20) NOT NULL,
    Moneda CHAR(3) NOT NULL,
    Monto NUMERIC(19, 4) NOT NULL,
    CONSTRAINT pk_capm_movimientos PRIMARY KEY (Portfolio, FechaReporte, ID_Movimiento)
);

CREATE TABLE IF NOT EXISTS source.Derivados_Contratos (
    FechaReporte DATE NOT NULL,
    Portfolio VARCHAR(50) NOT NULL,
    ID_Contrato VARCHAR(30) NOT NULL,
    Tipo_Derivado VARCHAR(10) NOT NULL,
    MonedaCompra CHAR(3) NOT NULL,
    MontoCompra NUMERIC(19, 4) NOT NULL,
    MonedaVenta CHAR(3) NOT NULL,
    MontoVenta NUMERIC(19, 4) NOT NULL,
    FechaVencimiento DATE NOT NULL,
    CONSTRAINT pk_derivados_contratos PRIMARY KEY (Portfolio, FechaReporte, ID_Contrato)
);

CREATE TABLE IF NOT EXISTS source.UBS_Custodia (
    FechaReporte DATE NOT NULL,
    Cuenta VARCHAR(50) NOT NULL,
    ID_Instrumento VARCHAR(30) NOT NULL,
    Cantidad NUMERIC(19, 4) NOT NULL,
    CONSTRAINT pk_ubs_custodia PRIMARY KEY (Cuenta, FechaReporte, ID_Instrumento)
);
