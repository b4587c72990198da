-- logs.sp_Bloquear_Ejecucion
-- Called first by every stage step, inside the step's transaction: an
-- exclusive, transaction-scoped lock on (ID_Ejecucion, Etapa), released at
-- commit or rollback. Two calls of one stage for one ejecución -- a retry
-- racing a killed attempt whose statement is still running on the server, or
-- an operator running a step by hand -- never interleave their
-- delete-and-insert: the second waits for the first to end. After 300 s it
-- gives up with a message saying why (the step fails cleanly, nothing written),
-- as SQLSTATE FL001, which fondos.db.calls treats as transient: Airflow retries the
-- task (no in-call retry: another 300 s wait would not help).
-- Parameters: ID_Ejecucion; Etapa (IPA, CAPM, PNL, Derivados, UBS).
CREATE OR REPLACE FUNCTION logs.sp_Bloquear_Ejecucion(ID_Ejecucion BIGINT, Etapa VARCHAR) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
SET lock_timeout = '300s'
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    p_etapa ALIAS FOR $2;
BEGIN
    PERFORM PG_ADVISORY_XACT_LOCK(HASHTEXTEXTENDED(FORMAT('fondos/%s/%s', p_etapa, p_ejecucion), 0));
EXCEPTION
    WHEN lock_not_available THEN
        RAISE EXCEPTION USING ERRCODE = 'FL001', MESSAGE = FORMAT(
            'another call of stage %s for ID_Ejecucion %s has held its lock for 300 s (an earlier attempt whose statement is still running on the server?): nothing was written. Airflow retries the stage; if it keeps happening, look for that statement in pg_stat_activity.',
            p_etapa, p_ejecucion);
END
$$;
