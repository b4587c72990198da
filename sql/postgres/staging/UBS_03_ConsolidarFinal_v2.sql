-- staging.UBS_03_ConsolidarFinal_v2
-- The fund's reconciliation summary: instruments reconciled and breaks.
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Effects: replaces this ejecución's row of staging.UBS_Final. Returns Filas.
CREATE OR REPLACE FUNCTION staging.UBS_03_ConsolidarFinal_v2(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER
) RETURNS TABLE (Filas INTEGER)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- A new ID_Ejecucion has no statistics yet, so the planner estimates one row per
-- fund and picks nested loops that rescan the fund's range for every row
-- (quadratic: 1-2 s per step at 2,000 positions). Steps join whole per-fund
-- sets, which hash joins do in linear time.
SET enable_nestloop = off
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    p_fecha ALIAS FOR $2;
    p_fund ALIAS FOR $3;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'UBS');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM staging.UBS_Final AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.UBS_Final (ID_Ejecucion, ID_Fund, NumInstrumentos, NumQuiebres)
    SELECT p_ejecucion, p_fund, COUNT(*), COUNT(*) FILTER (WHERE r.Estado_Conciliacion <> 'CUADRA')
    FROM staging.UBS_Reconciliacion AS r
    WHERE r.ID_Ejecucion = p_ejecucion;
    RETURN QUERY SELECT 1;
END
$$;
