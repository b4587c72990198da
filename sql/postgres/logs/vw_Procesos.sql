-- logs.vw_Procesos
-- One row per proceso with its figures, how many funds are still running and
-- how long it took: "how did today go?"
-- History is included and marked Legado: the procesos 015 backfilled, and
-- runs the legacy v2 backend wrote after the migration (a logs.Ejecuciones
-- row without ID_Proceso, shown as the proceso of the same id, as 015 would
-- backfill it). DuracionSegundos is NULL (unknown) when the end is missing or
-- before the start, as legacy rows sometimes have.
-- FondosLegado: how many active funds were with the legacy writer when the
-- proceso was created (028); NULL for history and older procesos.
-- DuracionSegundos is the duration rounded to whole seconds (the numeric
-- cast rounds half away from zero), BIGINT: an INTEGER overflowed once one
-- row spanned more than 68 years (a legacy default start of 1900-01-01, say).
-- The T-SQL twin computes the same number with DATEDIFF_BIG.
CREATE OR REPLACE VIEW logs.vw_Procesos AS
SELECT
    p.ID_Proceso,
    p.FechaReporte,
    p.Estado,
    p.Usuario,
    p.ClaveEjecucion,
    p.TotalFondos,
    p.FondosExitosos,
    p.FondosFallidos,
    p.TotalFondos - p.FondosExitosos - p.FondosFallidos AS FondosEnProgreso,
    p.FechaInicio,
    p.FechaFin,
    CASE
        WHEN p.FechaFin >= p.FechaInicio
            THEN CAST(EXTRACT(EPOCH FROM (p.FechaFin - p.FechaInicio)) AS BIGINT)
    END AS DuracionSegundos,
    p.Legado,
    p.FondosLegado
FROM logs.Procesos AS p
UNION ALL
SELECT
    e.ID_Ejecucion,
    e.FechaReporte,
    e.Estado,
    e.Usuario,
    NULL,
    e.TotalFondos,
    e.FondosExitosos,
    e.FondosFallidos,
    e.TotalFondos - e.FondosExitosos - e.FondosFallidos,
    e.FechaInicio,
    e.FechaFin,
    CASE
        WHEN e.FechaFin >= e.FechaInicio
            THEN CAST(EXTRACT(EPOCH FROM (e.FechaFin - e.FechaInicio)) AS BIGINT)
    END,
    TRUE,
    CAST(NULL AS INTEGER)
FROM logs.Ejecuciones AS e
WHERE e.ID_Proceso IS NULL;

GRANT SELECT ON logs.vw_Procesos TO fondos_pipeline;

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Procesos TO fondos_lector;
GRANT SELECT ON logs.vw_Procesos TO fondos_operador;
