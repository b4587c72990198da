-- logs.sp_Aceptar_Retencion
-- An operator accepts a held fund (logs.vw_Ejecucion_Verificacion RETENIDO) with a
-- reason: recorded with who and when for the run of the checks it accepts
-- (logs.Ejecucion_Aceptaciones, 030), so the next approval publishes the fund.
-- Accepting an already accepted run changes nothing (Nueva = FALSE). Refuses an
-- empty Usuario or Motivo, an unknown ejecución, and a fund that is not held.
-- Under the proceso row lock, like every writer of a fund's state.
-- Parameters: ID_Ejecucion, Usuario, Motivo. Returns FechaControl, Nueva.
CREATE OR REPLACE FUNCTION logs.sp_Aceptar_Retencion(
    ID_Ejecucion BIGINT, Usuario VARCHAR, Motivo VARCHAR
) RETURNS TABLE (FechaControl TIMESTAMP(3), Nueva BOOLEAN)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    p_usuario ALIAS FOR $2;
    p_motivo ALIAS FOR $3;
    v_verificacion VARCHAR;
    v_control TIMESTAMP(3);
BEGIN
    IF COALESCE(TRIM(p_usuario), '') = '' OR COALESCE(TRIM(p_motivo), '') = '' THEN
        RAISE EXCEPTION 'accepting a held fund needs who accepts it and why (Usuario and Motivo)';
    END IF;
    PERFORM 1 FROM logs.Procesos AS p
    INNER JOIN logs.Ejecuciones AS e ON p.ID_Proceso = e.ID_Proceso
    WHERE e.ID_Ejecucion = p_ejecucion
    FOR UPDATE OF p;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Ejecucion %', p_ejecucion;
    END IF;
    SELECT v.Verificacion, v.FechaControl INTO v_verificacion, v_control
    FROM logs.vw_Ejecucion_Verificacion AS v WHERE v.ID_Ejecucion = p_ejecucion;
    IF v_verificacion = 'ACEPTADO' THEN
        RETURN QUERY SELECT v_control, FALSE;
        RETURN;
    END IF;
    IF v_verificacion IS DISTINCT FROM 'RETENIDO' THEN
        RAISE EXCEPTION 'ID_Ejecucion % is not held (its checks say %): there is nothing to accept',
            p_ejecucion, COALESCE(v_verificacion, 'nothing: the fund is not OK');
    END IF;
    INSERT INTO logs.Ejecucion_Aceptaciones (ID_Ejecucion, FechaControl, Usuario, Motivo)
    VALUES (p_ejecucion, v_control, LEFT(p_usuario, 100), LEFT(p_motivo, 1000));
    RETURN QUERY SELECT v_control, TRUE;
END
$$;

-- The operator accepts held funds (026's fondos_operador); the pipeline has EXECUTE on logs (018).
GRANT EXECUTE ON FUNCTION logs.sp_Aceptar_Retencion(BIGINT, VARCHAR, VARCHAR) TO fondos_operador;
