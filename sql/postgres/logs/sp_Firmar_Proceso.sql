-- logs.sp_Firmar_Proceso
-- Records a sign-off decision of a proceso (logs.Proceso_Firmas, 030) and, when
-- it is APROBADO, publishes in the same transaction every ejecución of it whose
-- checks allow it (logs.vw_Ejecucion_Verificacion OK, SIN_COMPARACION or
-- ACEPTADO) and that has no current publication (logs.vw_Cifras_Aprobadas):
-- held funds, failed funds and funds whose checks are stale are not published.
-- Refuses, under the proceso row lock:
--   legacy history (logs.sp_Rechazar_Legado), an unknown proceso;
--   a Decision other than APROBADO or RECHAZADO, an empty Usuario, a rejection
--   without a Comentario;
--   four eyes: the user who asked for the run (logs.Procesos.Usuario) or the
--   one Solicitante names (who cleared it) signing it;
--   a proceso still EN_PROGRESO, or an OK fund whose checks did not run on its
--   latest figures (PENDIENTE): nothing is signed unchecked.
-- A decision is named by Clave (the Airflow response it records): a call resent
-- with a Clave already recorded for the proceso records nothing and returns that
-- decision again (Nueva = FALSE), so a lost connection never signs twice.
-- Parameters: ID_Proceso, Decision, Usuario, Clave, Solicitante, Comentario.
-- Returns Secuencia (of this decision), Publicadas, Retenidos (held, not accepted), Nueva.
CREATE OR REPLACE FUNCTION logs.sp_Firmar_Proceso(
    ID_Proceso BIGINT, Decision VARCHAR, Usuario VARCHAR, Clave VARCHAR, Solicitante VARCHAR DEFAULT NULL,
    Comentario VARCHAR DEFAULT NULL
) RETURNS TABLE (Secuencia INTEGER, Publicadas INTEGER, Retenidos INTEGER, Nueva BOOLEAN)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_decision ALIAS FOR $2;
    p_usuario ALIAS FOR $3;
    p_clave ALIAS FOR $4;
    p_solicitante ALIAS FOR $5;
    p_comentario ALIAS FOR $6;
    v_estado VARCHAR;
    v_pidio VARCHAR;
    v_pendientes INTEGER;
    v_retenidos INTEGER;
    v_secuencia INTEGER;
    v_publicadas INTEGER := 0;
BEGIN
    IF p_decision IS NULL OR p_decision NOT IN ('APROBADO', 'RECHAZADO') THEN
        RAISE EXCEPTION 'Decision must be APROBADO or RECHAZADO, not %', COALESCE(p_decision, 'NULL');
    END IF;
    IF COALESCE(TRIM(p_usuario), '') = '' THEN
        RAISE EXCEPTION 'a sign-off needs the user who signs it (Usuario)';
    END IF;
    IF COALESCE(TRIM(p_clave), '') = '' OR LENGTH(p_clave) > 250 OR p_clave <> RTRIM(p_clave) THEN
        RAISE EXCEPTION 'a sign-off needs the key of the decision it records (Clave): 1 to 250 characters, no trailing spaces';
    END IF;
    IF p_decision = 'RECHAZADO' AND COALESCE(TRIM(p_comentario), '') = '' THEN
        RAISE EXCEPTION 'rejecting proceso % needs a reason (Comentario)', p_proceso;
    END IF;
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'signing off a proceso');
    SELECT p.Estado, p.Usuario INTO v_estado, v_pidio FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;
    SELECT g.Secuencia, g.Publicadas INTO v_secuencia, v_publicadas
    FROM logs.Proceso_Firmas AS g WHERE g.ID_Proceso = p_proceso AND g.Clave = p_clave;
    IF FOUND THEN
        RETURN QUERY SELECT v_secuencia, v_publicadas, 0, FALSE;
        RETURN;
    END IF;
    v_publicadas := 0;
    IF p_usuario = v_pidio OR p_usuario = p_solicitante THEN
        RAISE EXCEPTION 'four eyes: % asked for proceso % (triggered or cleared its run) and cannot sign it off; another approver must',
            p_usuario, p_proceso;
    END IF;
    IF v_estado = 'EN_PROGRESO' THEN
        RAISE EXCEPTION 'proceso % is still running: sign it off once every fund has finished', p_proceso;
    END IF;
    SELECT
        COUNT(*) FILTER (WHERE v.Verificacion = 'PENDIENTE'),
        COUNT(*) FILTER (WHERE v.Verificacion = 'RETENIDO')
    INTO v_pendientes, v_retenidos
    FROM logs.vw_Ejecucion_Verificacion AS v WHERE v.ID_Proceso = p_proceso;
    IF v_pendientes > 0 THEN
        RAISE EXCEPTION 'proceso %: the checks of % OK fund(s) did not run on their latest figures; run the checks (clear controlar_fondos) before signing',
            p_proceso, v_pendientes;
    END IF;

    SELECT COALESCE(MAX(g.Secuencia), 0) + 1 INTO v_secuencia FROM logs.Proceso_Firmas AS g WHERE g.ID_Proceso = p_proceso;
    INSERT INTO logs.Proceso_Firmas (
        ID_Proceso, Secuencia, Decision, Usuario, Solicitante, Comentario, Publicadas, Clave
    )
    VALUES (
        p_proceso, v_secuencia, p_decision, LEFT(p_usuario, 100), LEFT(p_solicitante, 100), LEFT(p_comentario, 1000), 0,
        p_clave
    );
    IF p_decision = 'APROBADO' THEN
        INSERT INTO logs.Ejecucion_Publicaciones (ID_Ejecucion, ID_Proceso, Secuencia)
        SELECT v.ID_Ejecucion, p_proceso, v_secuencia
        FROM logs.vw_Ejecucion_Verificacion AS v
        WHERE
            v.ID_Proceso = p_proceso
            AND v.Verificacion IN ('OK', 'SIN_COMPARACION', 'ACEPTADO')
            -- the view's partition columns too, so the filter reaches below its ROW_NUMBER
            AND NOT EXISTS (
                SELECT 1 FROM logs.vw_Cifras_Aprobadas AS a
                WHERE a.ID_Fund = v.ID_Fund AND a.FechaReporte = v.FechaReporte AND a.ID_Ejecucion = v.ID_Ejecucion
            );
        GET DIAGNOSTICS v_publicadas = ROW_COUNT;
        UPDATE logs.Proceso_Firmas AS g SET Publicadas = v_publicadas
        WHERE g.ID_Proceso = p_proceso AND g.Secuencia = v_secuencia;
    END IF;
    RETURN QUERY SELECT v_secuencia, v_publicadas, v_retenidos, TRUE;
END
$$;
