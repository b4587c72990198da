-- logs.sp_Reservar_Aviso
-- Reserves the morning message of one outcome of a proceso before it is sent
-- (logs.Proceso_Avisos, migration 023), under the proceso row lock, and says
-- what to do, comparing with the proceso's last reservation only:
--   YA_ENVIADO  the last one is this outcome and was confirmed: send nothing;
--   REENVIAR    the last one is this outcome, reserved but never confirmed
--               (the sender died after sending, or before): send it again,
--               under the same Secuencia (the same Message-ID);
--   ENVIAR      anything else (no message yet, or another outcome last): a new
--               reservation with the next Secuencia; send it.
-- Refuses legacy history (logs.sp_Rechazar_Legado), an unknown proceso, a
-- Firma that is not 64 lower-case hex characters, and an unknown Canal.
-- Parameters: ID_Proceso; Firma; Canal (smtp, slack); Estado (the proceso's
-- state the message reports).
-- Returns one row: Secuencia, Accion.
CREATE OR REPLACE FUNCTION logs.sp_Reservar_Aviso(
    ID_Proceso BIGINT, Firma VARCHAR, Canal VARCHAR, Estado VARCHAR
) RETURNS TABLE (Secuencia INTEGER, Accion VARCHAR)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_firma ALIAS FOR $2;
    p_canal ALIAS FOR $3;
    p_estado ALIAS FOR $4;
    v_ultima RECORD;
BEGIN
    IF p_firma IS NULL OR p_firma !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'Firma must be 64 lower-case hex characters (a SHA-256), not %', COALESCE(p_firma, 'NULL');
    END IF;
    IF p_canal IS NULL OR p_canal NOT IN ('smtp', 'slack') THEN
        RAISE EXCEPTION 'Canal must be smtp or slack, not %', COALESCE(p_canal, 'NULL');
    END IF;
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'sending the morning message of a proceso');
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;

    SELECT a.Secuencia, a.Firma, a.Envio INTO v_ultima
    FROM logs.Proceso_Avisos AS a
    WHERE a.ID_Proceso = p_proceso
    ORDER BY a.Secuencia DESC
    LIMIT 1;

    IF FOUND AND v_ultima.Firma = p_firma THEN
        RETURN QUERY SELECT v_ultima.Secuencia,
            CAST(CASE WHEN v_ultima.Envio = 'ENVIADO' THEN 'YA_ENVIADO' ELSE 'REENVIAR' END AS VARCHAR);
        RETURN;
    END IF;

    INSERT INTO logs.Proceso_Avisos (ID_Proceso, Secuencia, Firma, Canal, Estado)
    VALUES (p_proceso, COALESCE(v_ultima.Secuencia, 0) + 1, p_firma, p_canal, p_estado);
    RETURN QUERY SELECT COALESCE(v_ultima.Secuencia, 0) + 1, CAST('ENVIAR' AS VARCHAR);
END
$$;
