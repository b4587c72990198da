-- logs.sp_Confirmar_Alerta
-- Confirms that the message of a rollback trigger (logs.Proceso_Alertas, 029)
-- was sent: Envio ENVIADO, FechaEnvio now. Confirming twice keeps the first
-- FechaEnvio. Refuses an alert that was never reserved for sending.
-- Parameters: ID_Proceso; Disparador.
CREATE OR REPLACE FUNCTION logs.sp_Confirmar_Alerta(ID_Proceso BIGINT, Disparador VARCHAR) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_disparador ALIAS FOR $2;
BEGIN
    UPDATE logs.Proceso_Alertas AS a
    SET Envio = 'ENVIADO',
        FechaEnvio = COALESCE(a.FechaEnvio, LOCALTIMESTAMP(3))
    WHERE a.ID_Proceso = p_proceso AND a.Disparador = p_disparador AND a.Envio IN ('RESERVADO', 'ENVIADO');
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no rollback alert % reserved for sending for ID_Proceso %', p_disparador, p_proceso;
    END IF;
END
$$;

GRANT EXECUTE ON FUNCTION logs.sp_Confirmar_Alerta(BIGINT, VARCHAR) TO fondos_operador;
