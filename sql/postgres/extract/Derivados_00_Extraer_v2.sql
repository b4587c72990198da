-- extract.Derivados_00_Extraer_v2
-- Extract step of Derivados for one fund: copies the fund's open derivative
-- contracts of FechaReporte into extract.Derivados under its own
-- ID_Ejecucion. A day without open contracts writes no rows.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund, Portfolio_Derivados.
-- Returns Filas, the rows written.
CREATE OR REPLACE FUNCTION extract.Derivados_00_Extraer_v2(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER, Portfolio_Derivados VARCHAR
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
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'Derivados');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM extract.Derivados AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO extract.Derivados (
        ID_Ejecucion, FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado,
        MonedaCompra, MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento
    )
    SELECT p_ejecucion, d.FechaReporte, d.Portfolio, d.ID_Contrato, d.Tipo_Derivado,
           d.MonedaCompra, d.MontoCompra, d.MonedaVenta, d.MontoVenta, d.FechaVencimiento
    FROM source.Derivados_Contratos AS d
    WHERE d.Portfolio = p_portfolio AND d.FechaReporte = p_fecha;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
