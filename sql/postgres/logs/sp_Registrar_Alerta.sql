-- logs.sp_Registrar_Alerta
-- Records a rollback trigger of a proceso once (logs.Proceso_Alertas, 029) and,
-- when a Canal is given, reserves its message, under the proceso row lock:
--   the first call for (ID_Proceso, Disparador) inserts the row with Detalle
--   and Accion (Nueva = TRUE); later calls keep the first figures;
--   Canal NULL: nothing is reserved (Envio says where the message stands);
--   Canal smtp/slack: Envio ENVIADO -> YA_ENVIADO (send nothing); RESERVADO
--   less than 10 minutes ago -> EN_CURSO (another sender has it: send
--   nothing); otherwise -> ENVIAR (reserved now for this caller: send, then
--   logs.sp_Confirmar_Alerta).
-- Refuses legacy history (logs.sp_Rechazar_Legado), an unknown proceso, an
-- unknown Disparador or Canal, and an empty Detalle or Accion.
-- Parameters: ID_Proceso; Disparador (FALLOS_2H, DURACION); Detalle; Accion;
-- Canal (NULL, smtp, slack).
-- Returns one row: Nueva, Envio (PENDIENTE, RESERVADO, ENVIADO: the row's
-- state after the call), Resultado (NULL without Canal, else ENVIAR, EN_CURSO or
-- YA_ENVIADO).
CREATE OR REPLACE FUNCTION logs.sp_Registrar_Alerta(
    ID_Proceso BIGINT, Disparador VARCHAR, Detalle VARCHAR, Accion VARCHAR, Canal VARCHAR DEFAULT NULL
) RETURNS TABLE (Nueva BOOLEAN, Envio VARCHAR, Resultado VARCHAR)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_disparador ALIAS FOR $2;
    p_detalle ALIAS FOR $3;
    p_accion ALIAS FOR $4;
    p_canal ALIAS FOR $5;
    v_nueva BOOLEAN := FALSE;
    v_envio VARCHAR;
    v_reserva TIMESTAMP(3);
    v_resultado VARCHAR;
BEGIN
    IF p_disparador IS NULL OR p_disparador NOT IN ('FALLOS_2H', 'DURACION') THEN
        RAISE EXCEPTION 'Disparador must be FALLOS_2H or DURACION, not %', COALESCE(p_disparador, 'NULL');
    END IF;
    IF p_canal IS NOT NULL AND p_canal NOT IN ('smtp', 'slack') THEN
        RAISE EXCEPTION 'Canal must be smtp, slack or NULL, not %', p_canal;
    END IF;
    IF COALESCE(TRIM(p_detalle), '') = '' OR COALESCE(TRIM(p_accion), '') = '' THEN
        RAISE EXCEPTION 'Detalle and Accion are required (what fired the trigger, and the plan''s action)';
    END IF;
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'recording a rollback trigger of a proceso');
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;

    SELECT a.Envio, a.FechaReserva INTO v_envio, v_reserva
    FROM logs.Proceso_Alertas AS a
    WHERE a.ID_Proceso = p_proceso AND a.Disparador = p_disparador;
    IF v_envio IS NULL THEN
        INSERT INTO logs.Proceso_Alertas (ID_Proceso, Disparador, Detalle, Accion)
        VALUES (p_proceso, p_disparador, LEFT(p_detalle, 1000), LEFT(p_accion, 1000));
        v_nueva := TRUE;
        v_envio := 'PENDIENTE';
    END IF;

    IF p_canal IS NOT NULL THEN
        IF v_envio = 'ENVIADO' THEN
            v_resultado := 'YA_ENVIADO';
        ELSIF v_envio = 'RESERVADO' AND v_reserva > LOCALTIMESTAMP(3) - INTERVAL '10 minutes' THEN
            v_resultado := 'EN_CURSO';
        ELSE
            UPDATE logs.Proceso_Alertas AS a
            SET Envio = 'RESERVADO', Canal = p_canal, FechaReserva = LOCALTIMESTAMP(3)
            WHERE a.ID_Proceso = p_proceso AND a.Disparador = p_disparador;
            v_resultado := 'ENVIAR';
        END IF;
    END IF;

    RETURN QUERY
    SELECT v_nueva, a.Envio, v_resultado
    FROM logs.Proceso_Alertas AS a
    WHERE a.ID_Proceso = p_proceso AND a.Disparador = p_disparador;
END
$$;

-- The operator's cerrar records triggers too (026's fondos_operador); the pipeline has EXECUTE on logs (018).
GRANT EXECUTE ON FUNCTION logs.sp_Registrar_Alerta(BIGINT, VARCHAR, VARCHAR, VARCHAR, VARCHAR) TO fondos_operador;
