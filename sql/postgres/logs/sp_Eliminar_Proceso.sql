-- logs.sp_Eliminar_Proceso
-- Deletes a whole proceso: the extract/staging rows of each of its
-- ejecuciones, then the proceso, whose ejecuciones, fund rows and stage rows
-- go by ON DELETE CASCADE. Nothing of any other proceso is touched.
-- Refuses legacy history (logs.sp_Rechazar_Legado).
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
BEGIN
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'eliminar (delete a proceso)');
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;
    FOR v_ejecucion IN SELECT e.ID_Ejecucion FROM logs.Ejecuciones AS e WHERE e.ID_Proceso = p_proceso LOOP
        v_total := v_total + (SELECT b.Filas FROM logs.sp_Borrar_Filas_Ejecucion(v_ejecucion) AS b);
    END LOOP;
    DELETE FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso;
    RETURN QUERY SELECT v_total;
END
$$;
