-- logs.sp_Recalcular_Proceso
-- The plan's updateProcesoStats: recomputes every ejecución's Estado from its
-- stages, then the proceso's figures and state from its ejecuciones. Always
-- recomputed from the children, never incremented, so a retried fund counts
-- once. Runs inside the caller's transaction, which must hold the proceso row
-- lock (see sp_Actualizar_Estado_Etapa).
--   ejecución: ERROR if a stage is ERROR; OK if every stage is OK or OMITIDO;
--              else EN_PROGRESO.
--   proceso:   EN_PROGRESO while any ejecución is; then ERROR if any failed,
--              else OK, with FechaFin.
-- Every writer of logs.Ejecucion_Etapas must end with this recount under the
-- proceso row lock: sp_Actualizar_Estado_Etapa skips it when its fund's own
-- state did not change, which is sound only if the figures were right before.
-- Refuses legacy history (logs.sp_Rechazar_Legado).
CREATE OR REPLACE FUNCTION logs.sp_Recalcular_Proceso(ID_Proceso BIGINT) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
BEGIN
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'recomputing the figures of a proceso');
    UPDATE logs.Ejecuciones AS e
    SET Estado = s.Estado,
        FechaFin = CASE WHEN s.Estado = 'EN_PROGRESO' THEN NULL ELSE s.Fin END
    FROM (
        SELECT
            t.ID_Ejecucion,
            CASE
                WHEN BOOL_OR(t.Estado = 'ERROR') THEN 'ERROR'
                WHEN BOOL_AND(t.Estado IN ('OK', 'OMITIDO')) THEN 'OK'
                ELSE 'EN_PROGRESO'
            END AS Estado,
            MAX(t.FechaFin) AS Fin
        FROM logs.Ejecucion_Etapas AS t
        JOIN logs.Ejecuciones AS x ON x.ID_Ejecucion = t.ID_Ejecucion
        WHERE x.ID_Proceso = p_proceso
        GROUP BY t.ID_Ejecucion
    ) AS s
    WHERE e.ID_Ejecucion = s.ID_Ejecucion
      AND (e.Estado IS DISTINCT FROM s.Estado OR e.FechaFin IS DISTINCT FROM
           CASE WHEN s.Estado = 'EN_PROGRESO' THEN NULL ELSE s.Fin END);

    UPDATE logs.Procesos AS p
    SET TotalFondos = c.Total,
        FondosExitosos = c.Ok,
        FondosFallidos = c.Err,
        Estado = CASE WHEN c.Ok + c.Err < c.Total THEN 'EN_PROGRESO' WHEN c.Err > 0 THEN 'ERROR' ELSE 'OK' END,
        FechaFin = CASE WHEN c.Ok + c.Err < c.Total THEN NULL ELSE COALESCE(p.FechaFin, LOCALTIMESTAMP(3)) END
    FROM (
        SELECT
            COUNT(*) AS Total,
            COUNT(*) FILTER (WHERE e.Estado = 'OK') AS Ok,
            COUNT(*) FILTER (WHERE e.Estado = 'ERROR') AS Err
        FROM logs.Ejecuciones AS e
        WHERE e.ID_Proceso = p_proceso
    ) AS c
    WHERE p.ID_Proceso = p_proceso;
END
$$;

-- Not for the pipeline role directly (it expects its caller's locks): the routines that call it run as the owner.
REVOKE EXECUTE ON FUNCTION logs.sp_Recalcular_Proceso(BIGINT) FROM fondos_pipeline;
