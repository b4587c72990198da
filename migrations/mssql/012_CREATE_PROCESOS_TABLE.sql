-- 012_CREATE_PROCESOS_TABLE
-- logs.Procesos, the parent of one report-date run (plan, FASE 1.1). Each fund
-- of the run becomes a child row of logs.Ejecuciones with its own ID_Ejecucion.
--
-- Added to the plan's columns: ClaveEjecucion, the orchestrator's run key
-- (Airflow's run_id). It is unique when present, so initialising the same run
-- twice returns the same proceso instead of creating a second one.
--
-- Deviation from the plan: ids come from the sequence logs.Seq_ID, not from
-- millisecond timestamps (50 timestamps taken in a loop are often equal). One
-- sequence serves procesos and ejecuciones, as the one clock did, so an id
-- names exactly one thing. It starts above the highest historical id, so old
-- and new ids never collide and stay BIGINT. CREATE SEQUENCE accepts no
-- variables: the start value, a BIGINT computed here and never user input, is
-- formatted into dynamic SQL.

IF OBJECT_ID(N'logs.Procesos', N'U') IS NULL
    CREATE TABLE logs.Procesos (
        ID_Proceso BIGINT NOT NULL CONSTRAINT PK_Procesos PRIMARY KEY CLUSTERED,
        FechaReporte DATE NOT NULL,
        Estado VARCHAR(50) NOT NULL CONSTRAINT DF_Procesos_Estado DEFAULT 'EN_PROGRESO',
        Usuario VARCHAR(100) NULL,
        ClaveEjecucion VARCHAR(250) NULL,
        FechaInicio DATETIME2(3) NOT NULL CONSTRAINT DF_Procesos_FechaInicio DEFAULT SYSDATETIME(),
        FechaFin DATETIME2(3) NULL,
        TotalFondos INT NOT NULL CONSTRAINT DF_Procesos_TotalFondos DEFAULT 0,
        FondosExitosos INT NOT NULL CONSTRAINT DF_Procesos_FondosExitosos DEFAULT 0,
        FondosFallidos INT NOT NULL CONSTRAINT DF_Procesos_FondosFallidos DEFAULT 0,
        CONSTRAINT CK_Procesos_Estado CHECK (Estado IN ('EN_PROGRESO', 'OK', 'ERROR'))
    );
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Procesos_FechaReporte' AND object_id = OBJECT_ID(N'logs.Procesos')
    )
    CREATE NONCLUSTERED INDEX IX_Procesos_FechaReporte ON logs.Procesos (FechaReporte) INCLUDE (Estado);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Procesos_Estado' AND object_id = OBJECT_ID(N'logs.Procesos')
    )
    CREATE NONCLUSTERED INDEX IX_Procesos_Estado ON logs.Procesos (Estado);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Procesos_FechaInicio' AND object_id = OBJECT_ID(N'logs.Procesos')
    )
    CREATE NONCLUSTERED INDEX IX_Procesos_FechaInicio ON logs.Procesos (FechaInicio);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_Procesos_ClaveEjecucion' AND object_id = OBJECT_ID(N'logs.Procesos')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_Procesos_ClaveEjecucion
        ON logs.Procesos (ClaveEjecucion)
        WHERE ClaveEjecucion IS NOT NULL;
GO

IF OBJECT_ID(N'logs.Seq_ID', N'SO') IS NULL
    BEGIN
        DECLARE @Inicio BIGINT = (SELECT ISNULL(MAX(ID_Ejecucion), 0) + 1 FROM logs.Ejecuciones);
        DECLARE
            @Sql NVARCHAR(400) = N'CREATE SEQUENCE logs.Seq_ID AS BIGINT START WITH '
            + CAST(@Inicio AS NVARCHAR(20)) + N' INCREMENT BY 1 CACHE 50;';
        EXEC sys.sp_executesql @Sql;
    END;
GO
