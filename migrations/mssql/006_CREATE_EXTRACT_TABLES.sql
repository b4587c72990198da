-- 006_CREATE_EXTRACT_TABLES
-- Legacy extract tables: per-run copies of the feeds, keyed only by the run's
-- shared ID_Ejecucion (no ID_Fund), stored as heaps with a nonclustered index
-- on ID_Ejecucion. This is the shape that makes 50 funds of one run fight for
-- the same index range; 017 re-keys them.

IF OBJECT_ID(N'extract.IPA', N'U') IS NULL
    CREATE TABLE extract.IPA (
        ID_Ejecucion BIGINT NOT NULL,
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Tipo_Instrumento VARCHAR(10) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Cantidad DECIMAL(19, 4) NOT NULL,
        CostoLocal DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Ejecucion' AND object_id = OBJECT_ID(N'extract.IPA')
    )
    CREATE NONCLUSTERED INDEX IX_IPA_Ejecucion ON extract.IPA (ID_Ejecucion);
GO

IF OBJECT_ID(N'extract.CAPM', N'U') IS NULL
    CREATE TABLE extract.CAPM (
        ID_Ejecucion BIGINT NOT NULL,
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Movimiento VARCHAR(30) NOT NULL,
        TipoMovimiento VARCHAR(20) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Monto DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_CAPM_Ejecucion' AND object_id = OBJECT_ID(N'extract.CAPM')
    )
    CREATE NONCLUSTERED INDEX IX_CAPM_Ejecucion ON extract.CAPM (ID_Ejecucion);
GO

IF OBJECT_ID(N'extract.PosModRF', N'U') IS NULL
    CREATE TABLE extract.PosModRF (
        ID_Ejecucion BIGINT NOT NULL,
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        FechaPrecio DATE NOT NULL,
        Precio DECIMAL(19, 6) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_PosModRF_Ejecucion' AND object_id = OBJECT_ID(N'extract.PosModRF')
    )
    CREATE NONCLUSTERED INDEX IX_PosModRF_Ejecucion ON extract.PosModRF (ID_Ejecucion);
GO

IF OBJECT_ID(N'extract.SONA', N'U') IS NULL
    CREATE TABLE extract.SONA (
        ID_Ejecucion BIGINT NOT NULL,
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Saldo DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_SONA_Ejecucion' AND object_id = OBJECT_ID(N'extract.SONA')
    )
    CREATE NONCLUSTERED INDEX IX_SONA_Ejecucion ON extract.SONA (ID_Ejecucion);
GO

IF OBJECT_ID(N'extract.Derivados', N'U') IS NULL
    CREATE TABLE extract.Derivados (
        ID_Ejecucion BIGINT NOT NULL,
        FechaReporte DATE NOT NULL,
        Portfolio VARCHAR(50) NOT NULL,
        ID_Contrato VARCHAR(30) NOT NULL,
        Tipo_Derivado VARCHAR(10) NOT NULL,
        MonedaCompra CHAR(3) NOT NULL,
        MontoCompra DECIMAL(19, 4) NOT NULL,
        MonedaVenta CHAR(3) NOT NULL,
        MontoVenta DECIMAL(19, 4) NOT NULL,
        FechaVencimiento DATE NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Derivados_Ejecucion' AND object_id = OBJECT_ID(N'extract.Derivados')
    )
    CREATE NONCLUSTERED INDEX IX_Derivados_Ejecucion ON extract.Derivados (ID_Ejecucion);
GO

IF OBJECT_ID(N'extract.UBS', N'U') IS NULL
    CREATE TABLE extract.UBS (
        ID_Ejecucion BIGINT NOT NULL,
        FechaReporte DATE NOT NULL,
        Cuenta VARCHAR(50) NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Cantidad DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_Ejecucion' AND object_id = OBJECT_ID(N'extract.UBS')
    )
    CREATE NONCLUSTERED INDEX IX_UBS_Ejecucion ON extract.UBS (ID_Ejecucion);
GO
