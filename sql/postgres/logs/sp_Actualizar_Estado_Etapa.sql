-- logs.sp_Actualizar_Estado_Etapa
-- Records a stage's state for one ejecución (the plan's
-- ExecutionTracker.updateExecutionState) and recomputes the ejecución and its
-- proceso from the children (sp_Recalcular_Proceso).
-- Parameters: ID_Ejecucion; Etapa (IPA, CAPM, PNL, Derivados, UBS); Estado
--   (EN_PROGRESO, REINTENTANDO, OK, ERROR, OMITIDO, PENDIENTE); Filas (rows
--   written, with OK); Mensaje (error text, with ERROR and REINTENTANDO).
-- EN_PROGRESO stamps FechaInicio and counts an attempt; OK/ERROR/OMITIDO
-- stamp FechaFin. An attempt that starts while the stage is still
-- EN_PROGRESO records, in Mensaje, that the earlier attempt was interrupted
-- (its task was killed or lost: Airflow runs no callback for a SIGKILL); one
-- that starts after REINTENTANDO or ERROR records what it retries after. OK
-- keeps that note; ERROR and REINTENTANDO carry their own message. Lock order: the proceso row first (FOR UPDATE), so
-- concurrent funds serialise on it briefly instead of deadlocking. Under it
-- the proceso must still exist (deleted meanwhile: unknown ID_Ejecucion).
-- OK is recorded only over EN_PROGRESO: an attempt whose fund was reverted or
-- whose proceso was closed while it ran does not overwrite that.
-- Refuses legacy history (logs.sp_Rechazar_Legado).
-- The proceso's figures are recomputed from all its ejecuciones (sp_Recalcular_Proceso)
-- only when this ejecución's derived Estado or FechaFin differs from the stored
-- one (its end, a retry after ERROR, a later stage ending in a fund already in
-- ERROR): otherwise the recount would change nothing. Sound because every
-- other writer of stage rows (sp_Inicializar_Proceso, sp_Revertir_Ejecucion,
-- sp_Actualizar_Estadisticas_Proceso) ends with a full recount under the
-- proceso row lock. Recomputing on every call made each stage update O(funds)
-- under that lock, so the cost per fund grew with the number of funds.
-- Intento (027): the attempt's token, sent with its EN_PROGRESO and its outcome. A call whose token and
-- state are already the stage's is this attempt's own resend after a lost connection: it changes
-- nothing (no second attempt counted, no "interrupted" note, no refusal of an OK already recorded).
-- Returns the ejecución's and the proceso's new states.
CREATE OR REPLACE FUNCTION logs.sp_Actualizar_Estado_Etapa(
    ID_Ejecucion BIGINT,
    Etapa VARCHAR,
    Estado VARCHAR,
    Filas INTEGER DEFAULT NULL,
    Mensaje VARCHAR DEFAULT NULL,
    Intento VARCHAR DEFAULT NULL
) RETURNS TABLE (Estado_Ejecucion VARCHAR, Estado_Proceso VARCHAR)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    p_etapa ALIAS FOR $2;
    p_estado ALIAS FOR $3;
    p_filas ALIAS FOR $4;
    p_mensaje ALIAS FOR $5;
    p_intento ALIAS FOR $6;
    v_proceso BIGINT;
    v_actual VARCHAR;
    v_estado_ejecucion VARCHAR;
    v_fin_ejecucion TIMESTAMP(3);
BEGIN
    IF p_estado IS NULL OR p_estado NOT IN ('PENDIENTE', 'EN_PROGRESO', 'REINTENTANDO', 'OK', 'ERROR', 'OMITIDO') THEN
        RAISE EXCEPTION 'invalid stage state %: use PENDIENTE, EN_PROGRESO, REINTENTANDO, OK, ERROR or OMITIDO', p_estado;
    END IF;
    PERFORM logs.sp_Rechazar_Legado(NULL, p_ejecucion, 'recording a stage state');
    SELECT e.ID_Proceso INTO v_proceso FROM logs.Ejecuciones AS e WHERE e.ID_Ejecucion = p_ejecucion;
    IF v_proceso IS NULL THEN
        RAISE EXCEPTION 'unknown ID_Ejecucion %', p_ejecucion;
    END IF;
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = v_proceso FOR UPDATE;
    IF NOT FOUND THEN  -- deleted since v_proceso was read
        RAISE EXCEPTION 'unknown ID_Ejecucion %', p_ejecucion;
    END IF;
    -- This attempt's own call again (its connection was lost after the call committed): nothing to change.
    IF p_intento IS NOT NULL AND EXISTS (
        SELECT 1 FROM logs.Ejecucion_Etapas AS t
        WHERE t.ID_Ejecucion = p_ejecucion AND t.Etapa = p_etapa AND t.TokenIntento = p_intento AND t.Estado = p_estado
    ) THEN
        RETURN QUERY
        SELECT e.Estado, p.Estado
        FROM logs.Ejecuciones AS e JOIN logs.Procesos AS p ON p.ID_Proceso = e.ID_Proceso
        WHERE e.ID_Ejecucion = p_ejecucion;
        RETURN;
    END IF;
    IF p_estado = 'OK' THEN
        SELECT t.Estado INTO v_actual FROM logs.Ejecucion_Etapas AS t
        WHERE t.ID_Ejecucion = p_ejecucion AND t.Etapa = p_etapa;
        IF v_actual <> 'EN_PROGRESO' THEN  -- no row: the "has no stage" error below says so
            RAISE EXCEPTION 'stage % of ID_Ejecucion % is %, not EN_PROGRESO: this attempt''s OK is not recorded (the fund was reverted or the proceso closed while it ran); run the stage again',
                p_etapa, p_ejecucion, v_actual;
        END IF;
    END IF;

    UPDATE logs.Ejecucion_Etapas AS t
    SET Estado = p_estado,
        FechaInicio = CASE WHEN p_estado = 'EN_PROGRESO' THEN LOCALTIMESTAMP(3) ELSE t.FechaInicio END,
        FechaFin = CASE WHEN p_estado IN ('OK', 'ERROR', 'OMITIDO') THEN LOCALTIMESTAMP(3) ELSE NULL END,
        Intentos = t.Intentos + CASE WHEN p_estado = 'EN_PROGRESO' THEN 1 ELSE 0 END,
        TokenIntento = CASE WHEN p_estado = 'EN_PROGRESO' THEN p_intento ELSE t.TokenIntento END,
        Filas = CASE WHEN p_estado = 'OK' THEN p_filas ELSE NULL END,
        Mensaje = LEFT(CASE
            WHEN p_estado IN ('ERROR', 'REINTENTANDO') THEN p_mensaje
            WHEN p_estado = 'OK' THEN t.Mensaje
            WHEN p_estado = 'EN_PROGRESO' AND t.Estado = 'EN_PROGRESO' THEN FORMAT(
                'attempt %s was interrupted: it started at %s and never recorded an outcome (task killed, '
                || 'worker lost or timed out); attempt %s started at %s',
                t.Intentos, TO_CHAR(t.FechaInicio, 'YYYY-MM-DD HH24:MI:SS'), t.Intentos + 1,
                TO_CHAR(LOCALTIMESTAMP(0), 'YYYY-MM-DD HH24:MI:SS'))
            WHEN p_estado = 'EN_PROGRESO' AND t.Estado IN ('REINTENTANDO', 'ERROR') THEN FORMAT(
                'attempt %s, after: %s', t.Intentos + 1, t.Mensaje)
        END, 4000)
    WHERE t.ID_Ejecucion = p_ejecucion AND t.Etapa = p_etapa;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ID_Ejecucion % has no stage % (stages: IPA, CAPM, PNL, Derivados, UBS)', p_ejecucion, p_etapa;
    END IF;

    UPDATE logs.Ejecucion_Fondos AS f
    SET Estado_Process_IPA = CASE WHEN p_etapa = 'IPA' THEN p_estado ELSE f.Estado_Process_IPA END,
        Estado_Process_CAPM = CASE WHEN p_etapa = 'CAPM' THEN p_estado ELSE f.Estado_Process_CAPM END,
        Estado_Process_PNL = CASE WHEN p_etapa = 'PNL' THEN p_estado ELSE f.Estado_Process_PNL END,
        Estado_Process_Derivados = CASE WHEN p_etapa = 'Derivados' THEN p_estado ELSE f.Estado_Process_Derivados END,
        Estado_Process_UBS = CASE WHEN p_etapa = 'UBS' THEN p_estado ELSE f.Estado_Process_UBS END
    WHERE f.ID_Ejecucion = p_ejecucion;

    -- This ejecución's state from its stages, exactly as sp_Recalcular_Proceso derives it.
    SELECT
        CASE
            WHEN BOOL_OR(t.Estado = 'ERROR') THEN 'ERROR'
            WHEN BOOL_AND(t.Estado IN ('OK', 'OMITIDO')) THEN 'OK'
            ELSE 'EN_PROGRESO'
        END,
        MAX(t.FechaFin)
    INTO v_estado_ejecucion, v_fin_ejecucion
    FROM logs.Ejecucion_Etapas AS t
    WHERE t.ID_Ejecucion = p_ejecucion;
    IF v_estado_ejecucion = 'EN_PROGRESO' THEN
        v_fin_ejecucion := NULL;
    END IF;
    IF EXISTS (
        SELECT 1 FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = p_ejecucion
          AND (e.Estado IS DISTINCT FROM v_estado_ejecucion OR e.FechaFin IS DISTINCT FROM v_fin_ejecucion)
    ) THEN
        PERFORM logs.sp_Recalcular_Proceso(v_proceso);
    END IF;

    RETURN QUERY
    SELECT e.Estado, p.Estado
    FROM logs.Ejecuciones AS e JOIN logs.Procesos AS p ON p.ID_Proceso = e.ID_Proceso
    WHERE e.ID_Ejecucion = p_ejecucion;
END
$$;

-- The operator's `fondos proceso cerrar` (026) runs it too, as the pipeline's cerrar_proceso does.
GRANT EXECUTE ON FUNCTION logs.sp_Actualizar_Estado_Etapa(BIGINT, VARCHAR, VARCHAR, INTEGER, VARCHAR, VARCHAR)
TO fondos_operador;
