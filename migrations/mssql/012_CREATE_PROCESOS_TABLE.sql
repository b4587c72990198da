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
-- names exactly one thing. New ids start at 10^15 (1,000,000,000,000,000),
-- far above any millisecond timestamp the legacy backend used (about 1.8 x
-- 10^12) and below 2^53, so JavaScript clients still read them exactly: an id
-- >= 10^15 is a new-style ejecución, anything below is history (019 scopes
-- the unique keys that way). In any case it starts above the highest id found anywhere
-- (logs, extract, staging: a legacy run whose log row was purged can survive
-- in extract/staging only), so old and new ids never collide and stay BIGINT.
-- logs.sp_Ajustar_Secuencia_ID re-checks this after every migrate and before
-- every new proceso (a restored legacy row, or the legacy v2 writer during
-- the transition, can add higher ids later). CREATE SEQUENCE accepts no
-- variables: the start value, a BIGINT computed here and never user input, is
-- formatted into dynamic SQL. (SQL Server 2019 has no GREATEST: the floor is
-- applied with IF.)
--
-- Legado marks history: procesos backfilled by 015 (and their ejecuciones)
-- are read-only; every lifecycle routine refuses them.

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
        Legado BIT NOT NULL CONSTRAINT DF_Procesos_Legado DEFAULT 0,
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
        -- MAX ignores the NULL of an empty table; ISNULL covers a database with no id at all.
        DECLARE @Piso BIGINT = 1000000000000000;  -- 10^15, see the header
        DECLARE @Inicio BIGINT;
        SELECT @Inicio = ISNULL(MAX(m.ID), 0) + 1
        FROM (
            SELECT MAX(t.ID_Ejecucion) AS ID FROM logs.Ejecuciones AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM logs.Ejecucion_Fondos AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.IPA AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.CAPM AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.PosModRF AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.SONA AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.Derivados AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM extract.UBS AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Precios AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Cash AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.CAPM_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.CAPM_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.PNL_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.PNL_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.Derivados_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.Derivados_Final AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_WorkTable AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_Reconciliacion AS t
            UNION ALL
            SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_Final AS t
        ) AS m;
        IF @Inicio < @Piso
            SET @Inicio = @Piso;
        DECLARE
            @Sql NVARCHAR(400) = N'CREATE SEQUENCE logs.Seq_ID AS BIGINT START WITH '
            + CAST(@Inicio AS NVARCHAR(20)) + N' INCREMENT BY 1 CACHE 50;';
        EXEC sys.sp_executesql @Sql;
    END;
GO
