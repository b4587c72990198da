-- 010_CREATE_STAGING_DERIVADOS
-- Legacy Derivados staging tables: FX forwards and swaps valued in base
-- currency, and the fund's exposure.

IF OBJECT_ID(N'staging.Derivados_WorkTable', N'U') IS NULL
    CREATE TABLE staging.Derivados_WorkTable (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Contrato VARCHAR(30) NOT NULL,
        Tipo_Derivado VARCHAR(10) NOT NULL,
        MonedaCompra CHAR(3) NOT NULL,
        MontoCompraBase DECIMAL(19, 4) NOT NULL,
        MonedaVenta CHAR(3) NOT NULL,
        MontoVentaBase DECIMAL(19, 4) NOT NULL,
        ValorRazonableBase DECIMAL(19, 4) NOT NULL,
        DiasAlVencimiento INT NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Derivados_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.Derivados_WorkTable')
    )
    CREATE NONCLUSTERED INDEX IX_Derivados_WorkTable_Ejecucion_Fund ON staging.Derivados_WorkTable (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.Derivados_Final', N'U') IS NULL
    CREATE TABLE staging.Derivados_Final (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        NumContratos INT NOT NULL,
        NocionalBase DECIMAL(19, 4) NOT NULL,
        ValorRazonableBase DECIMAL(19, 4) NOT NULL,
        ExposicionPct DECIMAL(9, 6) NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Derivados_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.Derivados_Final')
    )
    CREATE NONCLUSTERED INDEX IX_Derivados_Final_Ejecucion_Fund ON staging.Derivados_Final (ID_Ejecucion, ID_Fund);
GO
