-- logs.sp_Confirmar_Aviso
-- Confirms that the morning message reserved under (ID_Proceso, Secuencia)
-- was sent (logs.Proceso_Avisos, migration 023): Envio ENVIADO, FechaEnvio
-- now. Confirming twice keeps the first FechaEnvio. Refuses a reservation
-- that does not exist.
-- Parameters: ID_Proceso; Secuencia.
CREATE OR REPLACE FUNCTION logs.sp_Confirmar_Aviso(ID_Proceso BIGINT, Secuencia INTEGER) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_secuencia ALIAS FOR $2;
BEGIN
    UPDATE logs.Proceso_Avisos AS a
    SET Envio = 'ENVIADO',
        FechaEnvio = COALESCE(a.FechaEnvio, LOCALTIMESTAMP(3))
    WHERE a.ID_Proceso = p_proceso AND a.Secuencia = p_secuencia;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no morning message reserved for ID_Proceso % with Secuencia %', p_proceso, p_secuencia;
    END IF;
END
$$;
