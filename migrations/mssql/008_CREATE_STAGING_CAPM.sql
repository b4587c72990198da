-- 008_CREATE_STAGING_CAPM
-- Legacy CAPM (capital movements) staging tables: signed movements in base
-- currency and the fund's totals.

IF OBJECT_ID(N'staging.CAPM_WorkTable', N'U') IS NULL
    CREATE TABLE staging.CAPM_WorkTable (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Movimiento VARCHAR(30) NOT NULL,
        TipoMovimiento VARCHAR(20) NOT NULL,
        Moneda CHAR(3) NOT NULL,
        MontoLocal DECIMAL(19, 4) NOT NULL,
        TipoCambio DECIMAL(19, 8) NOT NULL,
        MontoBase DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_CAPM_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.CAPM_WorkTable')
    )
    CREATE NONCLUSTERED INDEX IX_CAPM_WorkTable_Ejecucion_Fund ON staging.CAPM_WorkTable (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.CAPM_Final', N'U') IS NULL
    CREATE TABLE staging.CAPM_Final (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        Suscripciones DECIMAL(19, 4) NOT NULL,
        Rescates DECIMAL(19, 4) NOT NULL,
        FlujoNeto DECIMAL(19, 4) NOT NULL,
        NumMovimientos INT NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_CAPM_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.CAPM_Final')
    )
    CREATE NONCLUSTERED INDEX IX_CAPM_Final_Ejecucion_Fund ON staging.CAPM_Final (ID_Ejecucion, ID_Fund);
GO
