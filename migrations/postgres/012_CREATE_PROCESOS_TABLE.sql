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
-- the transition, can add higher ids later).
--
-- Legado marks history: procesos backfilled by 015 (and their ejecuciones)
-- are read-only; every lifecycle routine refuses them.

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
    Legado BOOLEAN NOT NULL DEFAULT FALSE,
    CONSTRAINT ck_procesos_estado CHECK (Estado IN ('EN_PROGRESO', 'OK', 'ERROR'))
);

CREATE INDEX IF NOT EXISTS ix_procesos_fechareporte ON logs.Procesos (FechaReporte) INCLUDE (Estado);
CREATE INDEX IF NOT EXISTS ix_procesos_estado ON logs.Procesos (Estado);
CREATE INDEX IF NOT EXISTS ix_procesos_fechainicio ON logs.Procesos (FechaInicio);
CREATE UNIQUE INDEX IF NOT EXISTS ux_procesos_claveejecucion ON logs.Procesos (ClaveEjecucion)
WHERE ClaveEjecucion IS NOT NULL;

CREATE SEQUENCE IF NOT EXISTS logs.Seq_ID AS BIGINT;
SELECT SETVAL('logs.seq_id', GREATEST(1000000000000000, COALESCE(GREATEST(
    (SELECT MAX(t.ID_Ejecucion) FROM logs.Ejecuciones AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM logs.Ejecucion_Fondos AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM extract.IPA AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM extract.CAPM AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM extract.PosModRF AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM extract.SONA AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM extract.Derivados AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM extract.UBS AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Precios AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_WorkTable AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Cash AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.IPA_Final AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.CAPM_WorkTable AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.CAPM_Final AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.PNL_WorkTable AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.PNL_Final AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.Derivados_WorkTable AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.Derivados_Final AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_WorkTable AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_Reconciliacion AS t),
    (SELECT MAX(t.ID_Ejecucion) FROM staging.UBS_Final AS t)
), 0) + 1), FALSE);
