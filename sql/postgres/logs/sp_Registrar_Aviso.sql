-- logs.sp_Registrar_Aviso
-- Records that the morning message of one outcome of a proceso was sent
-- (logs.Proceso_Avisos, migration 023). Recording the same outcome twice is a
-- no-op: the first row stays. Refuses an unknown proceso.
-- Parameters: ID_Proceso; Firma (64 hex characters, the outcome's SHA-256);
-- Canal (smtp, slack); Estado (the proceso's state the message reported).
CREATE OR REPLACE FUNCTION logs.sp_Registrar_Aviso(
    ID_Proceso BIGINT, Firma VARCHAR, Canal VARCHAR, Estado VARCHAR
) RETURNS VOID
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
BEGIN
    IF p_firma IS NULL OR p_firma !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'Firma must be 64 lower-case hex characters (a SHA-256), not %', COALESCE(p_firma, 'NULL');
    END IF;
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;
    INSERT INTO logs.Proceso_Avisos (ID_Proceso, Firma, Canal, Estado)
    VALUES (p_proceso, p_firma, p_canal, p_estado)
    ON CONFLICT (ID_Proceso, Firma) DO NOTHING;
END
$$;
