-- logs.sp_Eliminar_Proceso
-- Deletes a whole proceso: the extract/staging rows of each of its
-- ejecuciones, then the proceso, whose ejecuciones, fund rows and stage rows
-- go by ON DELETE CASCADE. Nothing of any other proceso is touched.
-- Refuses a proceso with a stage EN_PROGRESO or REINTENTANDO (close it first).
-- Refuses legacy history (logs.sp_Rechazar_Legado), and a signed-off proceso (030).
-- One transaction (a function): every ejecución's stage locks (ascending id,
-- fixed stage order), then the proceso row (FOR UPDATE), then the re-checks,
-- the deletes, and logs.Procesos last. PostgreSQL never escalates row locks,
-- so holding every fund's rows to the end costs memory only. The T-SQL twin
-- takes the same locks in the same order but commits once per ejecución and
-- deletes logs.Procesos in a last transaction that holds them all (its header
-- says why: lock memory with escalation disabled).
-- Parameters: ID_Proceso. Returns the extract/staging rows deleted.
CREATE OR REPLACE FUNCTION logs.sp_Eliminar_Proceso(ID_Proceso BIGINT) RETURNS TABLE (Filas INTEGER)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    v_total INTEGER := 0;
    v_ejecucion BIGINT;
    v_abiertas INTEGER;
BEGIN
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'eliminar (delete a proceso)');
    -- Every stage lock of every ejecución first (ascending id, fixed stage order), then the proceso row:
    -- the same order as revertir, so the two can never deadlock.
    PERFORM logs.sp_Bloquear_Ejecucion(e.ID_Ejecucion, s.Etapa)
    FROM logs.Ejecuciones AS e
    CROSS JOIN UNNEST(ARRAY['IPA', 'CAPM', 'Derivados', 'UBS', 'PNL']) WITH ORDINALITY AS s (Etapa, Orden)
    WHERE e.ID_Proceso = p_proceso
    ORDER BY e.ID_Ejecucion, s.Orden;
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;
    SELECT COUNT(*) INTO v_abiertas
    FROM logs.Ejecucion_Etapas AS t JOIN logs.Ejecuciones AS e ON e.ID_Ejecucion = t.ID_Ejecucion
    WHERE e.ID_Proceso = p_proceso AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO');
    IF v_abiertas > 0 THEN
        RAISE EXCEPTION 'eliminar refused: proceso % has % stage(s) EN_PROGRESO or REINTENTANDO (an attempt is running or was killed): nothing was changed. Wait for the run to end, or close it (fondos proceso cerrar --id %), then delete.',
            p_proceso, v_abiertas, p_proceso;
    END IF;
    IF EXISTS (SELECT 1 FROM logs.Proceso_Firmas AS g WHERE g.ID_Proceso = p_proceso) THEN
        RAISE EXCEPTION 'eliminar refused: proceso % is signed off (logs.Proceso_Firmas): its decisions and the figures they published are kept, nothing was changed',
            p_proceso;
    END IF;
    FOR v_ejecucion IN SELECT e.ID_Ejecucion FROM logs.Ejecuciones AS e WHERE e.ID_Proceso = p_proceso LOOP
        v_total := v_total + (SELECT b.Filas FROM logs.sp_Borrar_Filas_Ejecucion(v_ejecucion) AS b);
    END LOOP;
    DELETE FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso;
    RETURN QUERY SELECT v_total;
END
$$;

-- An operator's command (026): fondos_operador may run it, the pipeline's tasks may not (no task deletes
-- or reverts; a retried fund replaces its own rows).
REVOKE EXECUTE ON FUNCTION logs.sp_Eliminar_Proceso(BIGINT) FROM fondos_pipeline;
GRANT EXECUTE ON FUNCTION logs.sp_Eliminar_Proceso(BIGINT) TO fondos_operador;
