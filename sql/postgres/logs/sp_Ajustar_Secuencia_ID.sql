-- logs.sp_Ajustar_Secuencia_ID
-- Keeps logs.Seq_ID above every id that exists anywhere: logs.Procesos,
-- logs.Ejecuciones, logs.Ejecucion_Fondos and every extract.*/staging.* table
-- (a legacy run whose log row was purged survives there only; a restored
-- legacy row or the legacy v2 writer during the transition can add higher ids
-- after 012 set the start). Moves the sequence forward only, never back.
-- Called by `fondos db migrate` after every run and by
-- logs.sp_Inicializar_Proceso before it takes ids. Each MAX is one seek of an
-- index led by ID_Ejecucion (017), so the call costs about 20 index probes.
-- Returns one row: Anterior (the next id before the call), Siguiente (after).
CREATE OR REPLACE FUNCTION logs.sp_Ajustar_Secuencia_ID()
RETURNS TABLE (Anterior BIGINT, Siguiente BIGINT)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_max BIGINT;
    v_siguiente BIGINT;
BEGIN
    -- One adjustment at a time, held to the caller's commit: two callers that both saw the sequence
    -- below the maximum would otherwise both SETVAL it, the second moving it back under ids the
    -- first caller's transaction had already taken.
    PERFORM PG_ADVISORY_XACT_LOCK(HASHTEXT('fondos.sp_Ajustar_Secuencia_ID'));
    SELECT GREATEST(
        (SELECT MAX(t.ID_Proceso) FROM logs.Procesos AS t),
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
    ) INTO v_max;

    SELECT CASE WHEN s.is_called THEN s.last_value + 1 ELSE s.last_value END INTO v_siguiente FROM logs.seq_id AS s;
    IF v_max IS NOT NULL AND v_max >= v_siguiente THEN
        PERFORM SETVAL('logs.seq_id', v_max + 1, FALSE);
        RETURN QUERY SELECT v_siguiente, v_max + 1;
    ELSE
        RETURN QUERY SELECT v_siguiente, v_siguiente;
    END IF;
END
$$;

-- Not for the pipeline role directly (it moves the id sequence): the routines that call it run as the owner.
REVOKE EXECUTE ON FUNCTION logs.sp_Ajustar_Secuencia_ID() FROM fondos_pipeline;
