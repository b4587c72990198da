-- logs.sp_Borrar_Filas_Ejecucion
-- Deletes every extract.* and staging.* row of one ID_Ejecucion, and nothing
-- else: each statement seeks that ejecución's own index range. Shared by the
-- per-fund rollback and the proceso deletion. Returns the rows deleted.
-- First it takes the five stage locks of the ejecución (logs.sp_Bloquear_Ejecucion,
-- always in the order IPA, CAPM, Derivados, UBS, PNL; a step holds only one),
-- so a killed attempt's step still running on the server finishes before the
-- rows go, instead of committing them again after the rollback.
-- (PostgreSQL never escalates row locks, so no batching is needed here; the
-- T-SQL twin deletes in batches below the escalation threshold.)
CREATE OR REPLACE FUNCTION logs.sp_Borrar_Filas_Ejecucion(ID_Ejecucion BIGINT) RETURNS TABLE (Filas INTEGER)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    v_total INTEGER := 0;
    v_n INTEGER;
    v_tabla TEXT;
BEGIN
    PERFORM logs.sp_Rechazar_Legado(NULL, p_ejecucion, 'deleting the rows of an ejecución');
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, s.Etapa)
    FROM UNNEST(ARRAY['IPA', 'CAPM', 'Derivados', 'UBS', 'PNL']) WITH ORDINALITY AS s (Etapa, Orden)
    ORDER BY s.Orden;
    FOREACH v_tabla IN ARRAY ARRAY[
        'extract.ipa', 'extract.capm', 'extract.posmodrf', 'extract.sona', 'extract.derivados', 'extract.ubs',
        'staging.ipa_precios', 'staging.ipa_worktable', 'staging.ipa_cash', 'staging.ipa_final',
        'staging.capm_worktable', 'staging.capm_final', 'staging.pnl_worktable', 'staging.pnl_final',
        'staging.derivados_worktable', 'staging.derivados_final', 'staging.ubs_worktable',
        'staging.ubs_reconciliacion', 'staging.ubs_final'
    ] LOOP
        -- table names are the constants above; the id is bound ($1)
        EXECUTE FORMAT('DELETE FROM %s WHERE id_ejecucion = $1', v_tabla) USING p_ejecucion;
        GET DIAGNOSTICS v_n = ROW_COUNT;
        v_total := v_total + v_n;
    END LOOP;
    RETURN QUERY SELECT v_total;
END
$$;

-- Not for the pipeline role directly (it deletes a fund's rows without recording anything): the routines that call it run as the owner.
REVOKE EXECUTE ON FUNCTION logs.sp_Borrar_Filas_Ejecucion(BIGINT) FROM fondos_pipeline;
