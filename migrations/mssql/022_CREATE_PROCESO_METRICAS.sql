-- 022_CREATE_PROCESO_METRICAS
-- logs.Proceso_Metricas: the plan's success metrics ("Métricas de Éxito"),
-- one row per proceso. At creation the pipeline snapshots the server's
-- cumulative counters (the *_Inicio columns); at every close it stores the
-- deltas since that snapshot, the proceso's duration, its funds per hour and
-- the stage retries. A proceso closed again after a retry gets new deltas
-- over the whole window since its creation. ServidorDesde_Inicio is when the
-- counters started counting at the first snapshot (server start, or the last
-- statistics reset): a close that sees another start time gives NULL deltas,
-- since the counters restarted in between.
-- SQL Server: the counters come from sys.dm_os_performance_counters
-- ('Number of Deadlocks/sec', 'Lock Waits/sec', 'Lock Timeouts (timeout >
-- 0)/sec' of Locks _Total, 'Table Lock Escalations/sec' of Access Methods),
-- which are cumulative despite their names and server-wide: other databases'
-- activity in the window counts too. Reading them needs VIEW SERVER
-- PERFORMANCE STATE (SQL Server 2022; VIEW SERVER STATE before), which
-- `fondos db bootstrap-mssql` grants the pipeline login; without it the
-- counters stay NULL and the pipeline says so in its log.
-- Written only through logs.sp_Registrar_Metricas_Proceso (018's role has
-- EXECUTE on the schema, no table rights); read through
-- logs.vw_Proceso_Metricas. Deleting a proceso deletes its metrics (ON DELETE
-- CASCADE, as its ejecuciones; one cascade path only).

IF OBJECT_ID(N'logs.Proceso_Metricas', N'U') IS NULL
    CREATE TABLE logs.Proceso_Metricas (
        ID_Proceso BIGINT NOT NULL CONSTRAINT PK_Proceso_Metricas PRIMARY KEY CLUSTERED,
        Motor VARCHAR(20) NOT NULL,
        FechaInicioMedicion DATETIME2(3) NOT NULL
        CONSTRAINT DF_Proceso_Metricas_FechaInicioMedicion DEFAULT SYSDATETIME(),
        Deadlocks_Inicio BIGINT NULL,
        LockWaits_Inicio BIGINT NULL,
        LockTimeouts_Inicio BIGINT NULL,
        LockEscalations_Inicio BIGINT NULL,
        ServidorDesde_Inicio DATETIME2(3) NULL,
        FechaCierreMedicion DATETIME2(3) NULL,
        Deadlocks BIGINT NULL,
        LockWaits BIGINT NULL,
        LockTimeouts BIGINT NULL,
        LockEscalations BIGINT NULL,
        DuracionSegundos INT NULL,
        FondosPorHora DECIMAL(12, 1) NULL,
        Reintentos INT NULL,
        CONSTRAINT FK_Proceso_Metricas_Procesos FOREIGN KEY (ID_Proceso)
        REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE,
        CONSTRAINT CK_Proceso_Metricas_Motor CHECK (Motor IN ('postgres', 'mssql'))
    );
GO
