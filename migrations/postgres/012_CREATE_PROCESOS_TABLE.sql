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
-- and new ids never collide and stay BIGINT.

CREATE TABLE IF NOT EXISTS logs.Procesos (
    ID_Proceso BIGINT NOT NULL CONSTRAINT pk_procesos PRIMARY KEY,
    FechaReporte DATE NOT NULL,
    Estado VARCHAR(50) NOT NULL DEFAULT 'EN_PROGRESO',
    Usuario VARCHAR(100) NULL,
    ClaveEjecucion VARCHAR(250) NULL,
    FechaInicio TIMESTAMP(3) NOT NULL DEFAULT LOCALTIMESTAMP,
    FechaFin TIMESTAMP(3) NULL,
    TotalFondos INTEGER NOT NULL DEFAULT 0,
    FondosExitosos INTEGER NOT NULL DEFAULT 0,
    FondosFallidos INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT ck_procesos_estado CHECK (Estado IN ('EN_PROGRESO', 'OK', 'ERROR'))
);

CREATE INDEX IF NOT EXISTS ix_procesos_fechareporte ON logs.Procesos (FechaReporte) INCLUDE (Estado);
CREATE INDEX IF NOT EXISTS ix_procesos_estado ON logs.Procesos (Estado);
CREATE INDEX IF NOT EXISTS ix_procesos_fechainicio ON logs.Procesos (FechaInicio);
CREATE UNIQUE INDEX IF NOT EXISTS ux_procesos_claveejecucion ON logs.Procesos (ClaveEjecucion)
WHERE ClaveEjecucion IS NOT NULL;

CREATE SEQUENCE IF NOT EXISTS logs.Seq_ID AS BIGINT;
SELECT SETVAL('logs.seq_id', (SELECT COALESCE(MAX(e.ID_Ejecucion), 0) + 1 FROM logs.Ejecuciones AS e), FALSE);
