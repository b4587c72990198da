-- logs.sp_Rechazar_Legado
-- Guard of every routine that changes a proceso, an ejecución or their rows:
-- legacy history is read-only. A legacy ejecución (Legado, or a run the legacy
-- v2 backend wrote without ID_Proceso) is shared by every fund of its run, so
-- deleting or rewriting by its id on behalf of one fund would touch them all.
-- Parameters: ID_Proceso or ID_Ejecucion (the other NULL); Accion (what was
-- asked, for the message). Raises P0001 when the target is legacy; does
-- nothing otherwise (unknown ids are left to the caller's own message).
CREATE OR REPLACE FUNCTION logs.sp_Rechazar_Legado(
    ID_Proceso BIGINT, ID_Ejecucion BIGINT, Accion VARCHAR
) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_ejecucion ALIAS FOR $2;
    p_accion ALIAS FOR $3;
    v_ejecucion BIGINT;
    v_fecha DATE;
    v_fondos INTEGER;
BEGIN
    -- three branches, each an index seek (it runs on every stage update): the ejecución itself,
    -- the backfilled children of a legacy proceso, a run the v2 writer left without a proceso
    SELECT l.ID_Ejecucion, l.FechaReporte INTO v_ejecucion, v_fecha
    FROM (
        SELECT e.ID_Ejecucion, e.FechaReporte FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = p_ejecucion AND (e.Legado OR e.ID_Proceso IS NULL)
        UNION ALL
        SELECT e.ID_Ejecucion, e.FechaReporte FROM logs.Ejecuciones AS e
        WHERE e.ID_Proceso = p_proceso AND e.Legado
        UNION ALL
        SELECT e.ID_Ejecucion, e.FechaReporte FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = p_proceso AND e.ID_Proceso IS NULL
    ) AS l
    ORDER BY l.ID_Ejecucion
    LIMIT 1;
    IF v_ejecucion IS NULL THEN
        RETURN;
    END IF;
    SELECT COUNT(*) INTO v_fondos FROM logs.Ejecucion_Fondos AS f WHERE f.ID_Ejecucion = v_ejecucion;
    RAISE EXCEPTION '% refused: % % is legacy history (the run of % written by the legacy backend; its ID_Ejecucion % is shared by % fund row(s)). Legacy runs are read-only and nothing was changed. To process that date again, trigger procesos_diarios with fecha=%: the new proceso gets its own ids and leaves the history as it is.',
        p_accion, CASE WHEN p_ejecucion IS NOT NULL THEN 'ID_Ejecucion' ELSE 'ID_Proceso' END,
        COALESCE(p_ejecucion, p_proceso), v_fecha, v_ejecucion, v_fondos, v_fecha;
END
$$;
