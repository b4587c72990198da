-- logs.vw_Proceso_Metricas
-- The plan's success metrics of each proceso that has them (migration 022,
-- written by logs.sp_Registrar_Metricas_Proceso): the counter deltas between
-- the proceso's creation and its last close, its duration, funds per hour and
-- stage retries, beside its date, state and figures. NULL means not measured
-- (PostgreSQL has no lock-wait, lock-timeout or escalation counters) or not
-- known (the proceso is not closed yet, or the counters were reset between
-- the snapshots). The verdict against the plan's targets is computed by the
-- pipeline (fondos.pipeline.metas), which holds the targets.
CREATE OR REPLACE VIEW logs.vw_Proceso_Metricas AS
SELECT
    m.ID_Proceso,
    p.FechaReporte,
    p.Estado,
    p.TotalFondos,
    p.FondosExitosos,
    p.FondosFallidos,
    m.Motor,
    m.FechaInicioMedicion,
    m.FechaCierreMedicion,
    m.Deadlocks,
    m.LockWaits,
    m.LockTimeouts,
    m.LockEscalations,
    m.DuracionSegundos,
    m.FondosPorHora,
    m.Reintentos
FROM logs.Proceso_Metricas AS m
INNER JOIN logs.Procesos AS p ON m.ID_Proceso = p.ID_Proceso;

GRANT SELECT ON logs.vw_Proceso_Metricas TO fondos_pipeline;

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Proceso_Metricas TO fondos_lector;
GRANT SELECT ON logs.vw_Proceso_Metricas TO fondos_operador;
