-- logs.vw_Ejecucion_Verificacion
-- One row per ejecución of procesos_diarios: where its plausibility checks
-- (migration 030, logs.sp_Controlar_Ejecucion) leave its figures.
--   Verificacion NULL             the ejecución is not OK (nothing to check);
--                PENDIENTE        OK, but its checks never ran or ran before its
--                                 latest stage started or ended (a re-run);
--                RETENIDO         a check is above its threshold and no operator
--                                 accepted this run of the checks: held, not published;
--                ACEPTADO         held, and accepted (AceptadoPor, MotivoAceptacion);
--                SIN_COMPARACION  no check held, the net-assets check had nothing to
--                                 compare with (shown as such, never a silent pass);
--                OK               every check within its threshold.
CREATE OR REPLACE VIEW logs.vw_Ejecucion_Verificacion AS
WITH etapas AS (
    SELECT
        t.ID_Ejecucion,
        MAX(t.FechaInicio) AS UltimoInicio,
        MAX(t.FechaFin) AS UltimoFin
    FROM logs.Ejecucion_Etapas AS t
    GROUP BY t.ID_Ejecucion
),

controles AS (
    SELECT
        k.ID_Ejecucion,
        MIN(k.FechaControl) AS FechaControl,
        SUM(CASE WHEN k.Estado = 'RETENIDO' THEN 1 ELSE 0 END) AS Retenidos,
        SUM(CASE WHEN k.Estado = 'SIN_COMPARACION' THEN 1 ELSE 0 END) AS SinComparacion
    FROM logs.Ejecucion_Controles AS k
    GROUP BY k.ID_Ejecucion
)

SELECT
    e.ID_Proceso,
    e.ID_Ejecucion,
    e.ID_Fund,
    e.FechaReporte,
    e.Estado,
    c.FechaControl,
    COALESCE(c.Retenidos, 0) AS Retenidos,
    a.Usuario AS AceptadoPor,
    a.Motivo AS MotivoAceptacion,
    a.FechaAceptacion,
    CASE
        WHEN e.Estado <> 'OK' THEN NULL
        WHEN c.FechaControl IS NULL OR c.FechaControl < s.UltimoInicio OR c.FechaControl < s.UltimoFin
            THEN 'PENDIENTE'
        WHEN c.Retenidos > 0 AND a.FechaAceptacion IS NOT NULL THEN 'ACEPTADO'
        WHEN c.Retenidos > 0 THEN 'RETENIDO'
        WHEN c.SinComparacion > 0 THEN 'SIN_COMPARACION'
        ELSE 'OK'
    END AS Verificacion
FROM logs.Ejecuciones AS e
LEFT JOIN etapas AS s ON e.ID_Ejecucion = s.ID_Ejecucion
LEFT JOIN controles AS c ON e.ID_Ejecucion = c.ID_Ejecucion
LEFT JOIN logs.Ejecucion_Aceptaciones AS a
    ON e.ID_Ejecucion = a.ID_Ejecucion AND c.FechaControl = a.FechaControl
WHERE e.ID_Proceso IS NOT NULL AND e.ID_Fund IS NOT NULL;

GRANT SELECT ON logs.vw_Ejecucion_Verificacion TO fondos_pipeline;

-- The proceso API's login (fondos_lector, 026) and the operator's (fondos_operador) read it too.
GRANT SELECT ON logs.vw_Ejecucion_Verificacion TO fondos_lector;
GRANT SELECT ON logs.vw_Ejecucion_Verificacion TO fondos_operador;
