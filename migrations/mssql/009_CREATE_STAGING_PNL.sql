-- 009_CREATE_STAGING_PNL
-- Legacy PNL staging tables: result per instrument from today's and the
-- previous price, and the fund's result and return net of capital flows.

IF OBJECT_ID(N'staging.PNL_WorkTable', N'U') IS NULL
    CREATE TABLE staging.PNL_WorkTable (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        Cantidad DECIMAL(19, 4) NOT NULL,
        PrecioLocal DECIMAL(19, 6) NOT NULL,
        PrecioAnterior DECIMAL(19, 6) NOT NULL,
        ResultadoLocal DECIMAL(19, 4) NOT NULL,
        ResultadoBase DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_PNL_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.PNL_WorkTable')
    )
    CREATE NONCLUSTERED INDEX IX_PNL_WorkTable_Ejecucion_Fund ON staging.PNL_WorkTable (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.PNL_Final', N'U') IS NULL
    CREATE TABLE staging.PNL_Final (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ResultadoBase DECIMAL(19, 4) NOT NULL,
        PatrimonioBase DECIMAL(19, 4) NOT NULL,
        FlujoNeto DECIMAL(19, 4) NOT NULL,
        RentabilidadPct DECIMAL(9, 6) NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_PNL_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.PNL_Final')
    )
    CREATE NONCLUSTERED INDEX IX_PNL_Final_Ejecucion_Fund ON staging.PNL_Final (ID_Ejecucion, ID_Fund);
GO
