-- 007_CREATE_STAGING_IPA
-- Legacy IPA (investment portfolio valuation) staging tables: rescued prices,
-- valued positions, cash lines and the final IPA. Heaps with a nonclustered
-- index on (ID_Ejecucion, ID_Fund); 017 re-keys them.

IF OBJECT_ID(N'staging.IPA_Precios', N'U') IS NULL
    CREATE TABLE staging.IPA_Precios (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        PrecioLocal DECIMAL(19, 6) NOT NULL,
        FuentePrecio VARCHAR(10) NOT NULL,
        FechaPrecio DATE NULL,
        PrecioAnterior DECIMAL(19, 6) NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Precios_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_Precios')
    )
    CREATE NONCLUSTERED INDEX IX_IPA_Precios_Ejecucion_Fund ON staging.IPA_Precios (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.IPA_WorkTable', N'U') IS NULL
    CREATE TABLE staging.IPA_WorkTable (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Tipo_Instrumento VARCHAR(10) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Cantidad DECIMAL(19, 4) NOT NULL,
        PrecioLocal DECIMAL(19, 6) NOT NULL,
        FuentePrecio VARCHAR(10) NOT NULL,
        ValorMercadoLocal DECIMAL(19, 4) NOT NULL,
        TipoCambio DECIMAL(19, 8) NOT NULL,
        ValorMercadoBase DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_WorkTable')
    )
    CREATE NONCLUSTERED INDEX IX_IPA_WorkTable_Ejecucion_Fund ON staging.IPA_WorkTable (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.IPA_Cash', N'U') IS NULL
    CREATE TABLE staging.IPA_Cash (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        Moneda CHAR(3) NOT NULL,
        SaldoLocal DECIMAL(19, 4) NOT NULL,
        TipoCambio DECIMAL(19, 8) NOT NULL,
        SaldoBase DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Cash_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_Cash')
    )
    CREATE NONCLUSTERED INDEX IX_IPA_Cash_Ejecucion_Fund ON staging.IPA_Cash (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.IPA_Final', N'U') IS NULL
    CREATE TABLE staging.IPA_Final (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        Linea VARCHAR(30) NOT NULL,
        Tipo_Linea VARCHAR(10) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        ValorLocal DECIMAL(19, 4) NOT NULL,
        ValorBase DECIMAL(19, 4) NOT NULL,
        PesoPct DECIMAL(9, 6) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_Final')
    )
    CREATE NONCLUSTERED INDEX IX_IPA_Final_Ejecucion_Fund ON staging.IPA_Final (ID_Ejecucion, ID_Fund);
GO
