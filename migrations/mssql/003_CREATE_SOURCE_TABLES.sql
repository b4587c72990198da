-- 003_CREATE_SOURCE_TABLES
-- The upstream systems' daily feeds, as the extract steps find them: accounting
-- positions, prices, cash and FX (Geneva), capital movements (CAPM), derivative
-- contracts and custodian holdings (UBS). Read-only for the pipeline.

IF OBJECT_ID(N'source.Geneva_Posiciones', N'U') IS NULL
    CREATE TABLE source.Geneva_Posiciones (
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Tipo_Instrumento VARCHAR(10) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Cantidad DECIMAL(19, 4) NOT NULL,
        CostoLocal DECIMAL(19, 4) NOT NULL,
        CONSTRAINT PK_Geneva_Posiciones PRIMARY KEY CLUSTERED (Portfolio, FechaReporte, ID_Instrumento)
    );
GO

IF OBJECT_ID(N'source.Geneva_Precios', N'U') IS NULL
    CREATE TABLE source.Geneva_Precios (
        FechaReporte DATE NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Precio DECIMAL(19, 6) NOT NULL,
        CONSTRAINT PK_Geneva_Precios PRIMARY KEY CLUSTERED (ID_Instrumento, FechaReporte)
    );
GO

IF OBJECT_ID(N'source.Geneva_Caja', N'U') IS NULL
    CREATE TABLE source.Geneva_Caja (
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Saldo DECIMAL(19, 4) NOT NULL,
        CONSTRAINT PK_Geneva_Caja PRIMARY KEY CLUSTERED (Portfolio, FechaReporte, Moneda)
    );
GO

IF OBJECT_ID(N'source.TiposCambio', N'U') IS NULL
    CREATE TABLE source.TiposCambio (
        FechaReporte DATE NOT NULL,
        Moneda CHAR(3) NOT NULL,
        TipoCambio DECIMAL(19, 8) NOT NULL,
        CONSTRAINT PK_TiposCambio PRIMARY KEY CLUSTERED (FechaReporte, Moneda)
    );
GO

IF OBJECT_ID(N'source.CAPM_Movimientos', N'U') IS NULL
    CREATE TABLE source.CAPM_Movimientos (
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Movimiento VARCHAR(30) NOT NULL,
        TipoMovimiento VARCHAR(20) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Monto DECIMAL(19, 4) NOT NULL,
        CONSTRAINT PK_CAPM_Movimientos PRIMARY KEY CLUSTERED (Portfolio, FechaReporte, ID_Movimiento)
    );
GO

IF OBJECT_ID(N'source.Derivados_Contratos', N'U') IS NULL
    CREATE TABLE source.Derivados_Contratos (
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Contrato VARCHAR(30) NOT NULL,
        Tipo_Derivado VARCHAR(10) NOT NULL,
        MonedaCompra CHAR(3) NOT NULL,
        MontoCompra DECIMAL(19, 4) NOT NULL,
        MonedaVenta CHAR(3) NOT NULL,
        MontoVenta DECIMAL(19, 4) NOT NULL,
        FechaVencimiento DATE NOT NULL,
        CONSTRAINT PK_Derivados_Contratos PRIMARY KEY CLUSTERED (Portfolio, FechaReporte, ID_Contrato)
    );
GO

IF OBJECT_ID(N'source.UBS_Custodia', N'U') IS NULL
    CREATE TABLE source.UBS_Custodia (
        FechaReporte DATE NOT NULL,
        Cuenta VARCHAR(50) NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Cantidad DECIMAL(19, 4) NOT NULL,
        CONSTRAINT PK_UBS_Custodia PRIMARY KEY CLUSTERED (Cuenta, FechaReporte, ID_Instrumento)
    );
GO
