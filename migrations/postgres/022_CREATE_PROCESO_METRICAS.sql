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
-- PostgreSQL counts deadlocks per database (pg_stat_database.deadlocks); it
-- has no cumulative counter of lock waits or lock timeouts, and it never
-- escalates row locks: those columns stay NULL here and are filled on SQL
-- Server (performance counters, server-wide).
-- Written only through logs.sp_Registrar_Metricas_Proceso (018's role has
-- EXECUTE, no table rights); read through logs.vw_Proceso_Metricas. Deleting
-- a proceso deletes its metrics (ON DELETE CASCADE, as its ejecuciones).

CREATE TABLE IF NOT EXISTS logs.Proceso_Metricas (
    ID_Proceso BIGINT NOT NULL,
    Motor VARCHAR(20) NOT NULL,
    FechaInicioMedicion TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP(3),
    Deadlocks_Inicio BIGINT NULL,
    LockWaits_Inicio BIGINT NULL,
    LockTimeouts_Inicio BIGINT NULL,
    LockEscalations_Inicio BIGINT NULL,
    ServidorDesde_Inicio TIMESTAMP(3) NULL,
    FechaCierreMedicion TIMESTAMP(3) NULL,
    Deadlocks BIGINT NULL,
    LockWaits BIGINT NULL,
    LockTimeouts BIGINT NULL,
    LockEscalations BIGINT NULL,
    DuracionSegundos INTEGER NULL,
    FondosPorHora DECIMAL(12, 1) NULL,
    Reintentos INTEGER NULL,
    CONSTRAINT pk_proceso_metricas PRIMARY KEY (ID_Proceso),
    CONSTRAINT fk_proceso_metricas_procesos FOREIGN KEY (ID_Proceso)
    REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE,
    CONSTRAINT ck_proceso_metricas_motor CHECK (Motor IN ('postgres', 'mssql'))
);
