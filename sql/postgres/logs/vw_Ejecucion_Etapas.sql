-- logs.vw_Ejecucion_Etapas
-- One row per fund and stage of every proceso, with state, times, rows,
-- attempts and error text: "which fund failed, where, and why?"
-- Legacy history (Legado) is included: one row per fund of the shared legacy
-- ejecución and stage, its state taken as written in the legacy
-- Estado_Process_* column (not normalised, NULL when never recorded), and
-- Estado_Ejecucion the shared run's state. The legacy schema kept no
-- per-stage times, rows, attempts or messages: those are NULL.
-- DuracionSegundos is NULL when the end is missing or before the start.
-- DuracionSegundos is the duration rounded to whole seconds (the numeric
-- cast rounds half away from zero), BIGINT: an INTEGER overflowed once one
-- row spanned more than 68 years (a legacy default start of 1900-01-01, say).
-- The T-SQL twin computes the same number with DATEDIFF_BIG.
CREATE OR REPLACE VIEW logs.vw_Ejecucion_Etapas AS
SELECT
    e.ID_Proceso,
    e.FechaReporte,
    e.ID_Ejecucion,
    e.ID_Fund,
    f.FundShortName,
    e.Estado AS Estado_Ejecucion,
    t.Etapa,
    t.Estado,
    t.FechaInicio,
    t.FechaFin,
    CASE
        WHEN t.FechaFin >= t.FechaInicio
            THEN CAST(EXTRACT(EPOCH FROM (t.FechaFin - t.FechaInicio)) AS BIGINT)
    END AS DuracionSegundos,
    t.Filas,
    t.Intentos,
    t.Mensaje,
    e.Legado
FROM logs.Ejecuciones AS e
INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
INNER JOIN logs.Ejecucion_Etapas AS t ON e.ID_Ejecucion = t.ID_Ejecucion
UNION ALL
-- Legacy history in two branches, so a read by ID_Proceso seeks logs.Ejecuciones' ID_Proceso index (and a
-- legacy run with no proceso its ID_Ejecucion key) instead of scanning it for COALESCE(ID_Proceso, ID_Ejecucion).
SELECT
    e.ID_Proceso,
    e.FechaReporte,
    e.ID_Ejecucion,
    f.ID_Fund,
    f.FundShortName,
    e.Estado AS Estado_Ejecucion,
    s.Etapa,
    s.Estado,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    TRUE
FROM logs.Ejecuciones AS e
INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
CROSS JOIN
    LATERAL (
        VALUES
        ('IPA', f.Estado_Process_IPA),
        ('CAPM', f.Estado_Process_CAPM),
        ('PNL', f.Estado_Process_PNL),
        ('Derivados', f.Estado_Process_Derivados),
        ('UBS', f.Estado_Process_UBS)
    ) AS s (Etapa, Estado)
WHERE e.Legado AND e.ID_Proceso IS NOT NULL
UNION ALL
SELECT
    e.ID_Ejecucion AS ID_Proceso,
    e.FechaReporte,
    e.ID_Ejecucion,
    f.ID_Fund,
    f.FundShortName,
    e.Estado AS Estado_Ejecucion,
    s.Etapa,
    s.Estado,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    NULL,
    TRUE
FROM logs.Ejecuciones AS e
INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
CROSS JOIN
    LATERAL (
        VALUES
        ('IPA', f.Estado_Process_IPA),
        ('CAPM', f.Estado_Process_CAPM),
        ('PNL', f.Estado_Process_PNL),
        ('Derivados', f.Estado_Process_Derivados),
        ('UBS', f.Estado_Process_UBS)
    ) AS s (Etapa, Estado)
WHERE e.ID_Proceso IS NULL;

GRANT SELECT ON logs.vw_Ejecucion_Etapas TO fondos_pipeline;

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Ejecucion_Etapas TO fondos_lector;
GRANT SELECT ON logs.vw_Ejecucion_Etapas TO fondos_operador;
