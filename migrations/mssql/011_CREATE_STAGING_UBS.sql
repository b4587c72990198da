-- 011_CREATE_STAGING_UBS
-- Legacy UBS staging tables: custodian holdings, their reconciliation with the
-- accounting positions (the breaks), and the fund's reconciliation summary.

IF OBJECT_ID(N'staging.UBS_WorkTable', N'U') IS NULL
    CREATE TABLE staging.UBS_WorkTable (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        CantidadCustodio DECIMAL(19, 4) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.UBS_WorkTable')
    )
    CREATE NONCLUSTERED INDEX IX_UBS_WorkTable_Ejecucion_Fund ON staging.UBS_WorkTable (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.UBS_Reconciliacion', N'U') IS NULL
    CREATE TABLE staging.UBS_Reconciliacion (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        ID_Instrumento VARCHAR(30) NOT NULL,
        CantidadContable DECIMAL(19, 4) NOT NULL,
        CantidadCustodio DECIMAL(19, 4) NOT NULL,
        Diferencia DECIMAL(19, 4) NOT NULL,
        Estado_Conciliacion VARCHAR(20) NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_Reconciliacion_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.UBS_Reconciliacion')
    )
    CREATE NONCLUSTERED INDEX IX_UBS_Reconciliacion_Ejecucion_Fund ON staging.UBS_Reconciliacion (ID_Ejecucion, ID_Fund);
GO

IF OBJECT_ID(N'staging.UBS_Final', N'U') IS NULL
    CREATE TABLE staging.UBS_Final (
        ID_Ejecucion BIGINT NOT NULL,
        ID_Fund INT NOT NULL,
        NumInstrumentos INT NOT NULL,
        NumQuiebres INT NOT NULL
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.UBS_Final')
    )
    CREATE NONCLUSTERED INDEX IX_UBS_Final_Ejecucion_Fund ON staging.UBS_Final (ID_Ejecucion, ID_Fund);
GO
