-- extract.CAPM_00_Extraer_v2
-- Extract step of CAPM for one fund: copies the fund's capital movements of
-- FechaReporte (subscriptions, redemptions) into extract.CAPM under its own
-- ID_Ejecucion. A day without movements is normal and writes no rows.
-- Holds the (CAPM, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund, Portfolio_CAPM.
-- Returns Filas, the rows written.
CREATE OR REPLACE FUNCTION extract.CAPM_00_Extraer_v2(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER, Portfolio_CAPM VARCHAR
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
    p_portfolio ALIAS FOR $4;
    v_filas INTEGER;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'CAPM');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM extract.CAPM AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO extract.CAPM (ID_Ejecucion, FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, Moneda, Monto)
    SELECT p_ejecucion, m.FechaReporte, m.Portfolio, m.ID_Movimiento, m.TipoMovimiento, m.Moneda, m.Monto
    FROM source.CAPM_Movimientos AS m
    WHERE m.Portfolio = p_portfolio AND m.FechaReporte = p_fecha;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
