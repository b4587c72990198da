-- staging.CAPM_02_ConsolidarFinal_v2
-- The fund's capital-flow totals in base currency: subscriptions,
-- redemptions, net flow and number of movements (one row, zeros on a quiet day).
-- Holds the (CAPM, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Effects: replaces this ejecución's row of staging.CAPM_Final. Returns Filas.
CREATE OR REPLACE FUNCTION staging.CAPM_02_ConsolidarFinal_v2(
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
    v_filas INTEGER;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'CAPM');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM staging.CAPM_Final AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.CAPM_Final (ID_Ejecucion, ID_Fund, Suscripciones, Rescates, FlujoNeto, NumMovimientos)
    SELECT
        p_ejecucion, p_fund,
        COALESCE(SUM(w.MontoBase) FILTER (WHERE w.MontoBase > 0), 0),
        COALESCE(SUM(w.MontoBase) FILTER (WHERE w.MontoBase < 0), 0),
        COALESCE(SUM(w.MontoBase), 0),
        COUNT(w.ID_Movimiento)
    FROM staging.CAPM_WorkTable AS w
    WHERE w.ID_Ejecucion = p_ejecucion;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
