-- logs.sp_Revertir_Ejecucion
-- Rolls back ONE fund of a proceso (plan: "Rollback por fondo"): deletes all
-- its extract/staging rows, sets its applicable stages back to PENDIENTE, and
-- recomputes the proceso. No other fund's rows or states are touched.
-- Lock order: the fund's five stage locks (IPA, CAPM, Derivados, UBS, PNL),
-- then the proceso row; under them it checks again that the ejecución exists
-- (a proceso deletion may have committed while it waited).
-- Refuses a fund with a stage EN_PROGRESO or REINTENTANDO (its rows would come
-- back when the attempt writes); close the proceso first if the task died.
-- Refuses legacy history (logs.sp_Rechazar_Legado): a legacy ID_Ejecucion is
-- shared by every fund of its run.
-- Parameters: ID_Ejecucion. Returns the rows deleted.
CREATE OR REPLACE FUNCTION logs.sp_Revertir_Ejecucion(ID_Ejecucion BIGINT) RETURNS TABLE (Filas INTEGER)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    v_proceso BIGINT;
    v_filas INTEGER;
    v_etapa VARCHAR;
    v_estado VARCHAR;
BEGIN
    PERFORM logs.sp_Rechazar_Legado(NULL, p_ejecucion, 'revertir (roll back one fund)');
    SELECT e.ID_Proceso INTO v_proceso FROM logs.Ejecuciones AS e WHERE e.ID_Ejecucion = p_ejecucion;
    IF v_proceso IS NULL THEN
        RAISE EXCEPTION 'unknown ID_Ejecucion %', p_ejecucion;
    END IF;
    -- The stage locks first (a running step finishes before we look), then the proceso row: waiting
    -- for a step while holding the proceso row would stall every other fund's state updates.
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, s.Etapa)
    FROM UNNEST(ARRAY['IPA', 'CAPM', 'Derivados', 'UBS', 'PNL']) WITH ORDINALITY AS s (Etapa, Orden)
    ORDER BY s.Orden;
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = v_proceso FOR UPDATE;
    IF NOT FOUND THEN  -- deleted (sp_Eliminar_Proceso) while this call waited for the stage locks
        RAISE EXCEPTION 'unknown ID_Ejecucion %', p_ejecucion;
    END IF;
    SELECT t.Etapa, t.Estado INTO v_etapa, v_estado
    FROM logs.Ejecucion_Etapas AS t
    WHERE t.ID_Ejecucion = p_ejecucion AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO')
    ORDER BY POSITION(t.Etapa IN 'IPA,CAPM,Derivados,UBS,PNL')
    LIMIT 1;
    IF v_etapa IS NOT NULL THEN
        RAISE EXCEPTION 'revertir refused: stage % of ID_Ejecucion % is % (an attempt is running or was killed): nothing was changed. Wait for it to end, or close the proceso (fondos proceso cerrar --id %) if its task died, then revert.',
            v_etapa, p_ejecucion, v_estado, v_proceso;
    END IF;

    SELECT b.Filas INTO v_filas FROM logs.sp_Borrar_Filas_Ejecucion(p_ejecucion) AS b;

    UPDATE logs.Ejecucion_Etapas AS t
    SET Estado = 'PENDIENTE', FechaInicio = NULL, FechaFin = NULL, Filas = NULL, Mensaje = NULL
    WHERE t.ID_Ejecucion = p_ejecucion AND t.Estado <> 'OMITIDO';
    UPDATE logs.Ejecucion_Fondos AS f
    SET Estado_Process_IPA = CASE WHEN f.Estado_Process_IPA = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
        Estado_Process_CAPM = CASE WHEN f.Estado_Process_CAPM = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
        Estado_Process_PNL = CASE WHEN f.Estado_Process_PNL = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
        Estado_Process_Derivados = CASE WHEN f.Estado_Process_Derivados = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
        Estado_Process_UBS = CASE WHEN f.Estado_Process_UBS = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END
    WHERE f.ID_Ejecucion = p_ejecucion;

    PERFORM logs.sp_Recalcular_Proceso(v_proceso);
    RETURN QUERY SELECT v_filas;
END
$$;

-- An operator's command (026): fondos_operador may run it, the pipeline's tasks may not (no task deletes
-- or reverts; a retried fund replaces its own rows).
REVOKE EXECUTE ON FUNCTION logs.sp_Revertir_Ejecucion(BIGINT) FROM fondos_pipeline;
GRANT EXECUTE ON FUNCTION logs.sp_Revertir_Ejecucion(BIGINT) TO fondos_operador;
