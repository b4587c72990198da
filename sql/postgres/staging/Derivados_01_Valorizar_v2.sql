-- staging.Derivados_01_Valorizar_v2
-- Values each FX forward or swap in the fund's base currency: both legs at
-- the day's rates, fair value = bought leg - sold leg, and days to maturity.
-- Numeric contract (same in the T-SQL twin): leg base = ROUND(amount x
-- ROUND(rate(leg) / rate(base), 8), 4), the same rate rounding as every other
-- conversion; fair value = bought leg base - sold leg base.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Fails when a currency has no rate for the date.
-- Effects: replaces this ejecución's rows of staging.Derivados_WorkTable. Returns Filas.
CREATE OR REPLACE FUNCTION staging.Derivados_01_Valorizar_v2(
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
    v_base CHAR(3);
    v_monedas TEXT;
    v_filas INTEGER;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'Derivados');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    SELECT f.Moneda_Base INTO v_base FROM config.Fondos AS f WHERE f.ID_Fund = p_fund;
    SELECT STRING_AGG(DISTINCT x.Moneda, ',') INTO v_monedas
    FROM extract.Derivados AS d
    CROSS JOIN LATERAL (VALUES (d.MonedaCompra), (d.MonedaVenta)) AS x(Moneda)
    WHERE d.ID_Ejecucion = p_ejecucion;
    PERFORM logs.sp_Validar_TiposCambio(p_fecha, CONCAT_WS(',', v_base, v_monedas),
        FORMAT('Derivados, ID_Fund %s, ID_Ejecucion %s', p_fund, p_ejecucion));

    DELETE FROM staging.Derivados_WorkTable AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.Derivados_WorkTable (
        ID_Ejecucion, ID_Fund, ID_Contrato, Tipo_Derivado, MonedaCompra, MontoCompraBase,
        MonedaVenta, MontoVentaBase, ValorRazonableBase, DiasAlVencimiento
    )
    SELECT
        p_ejecucion, p_fund, d.ID_Contrato, d.Tipo_Derivado,
        d.MonedaCompra, v.CompraBase, d.MonedaVenta, v.VentaBase, v.CompraBase - v.VentaBase,
        d.FechaVencimiento - p_fecha
    FROM extract.Derivados AS d
    JOIN source.TiposCambio AS fc ON fc.FechaReporte = p_fecha AND fc.Moneda = d.MonedaCompra
    JOIN source.TiposCambio AS fv ON fv.FechaReporte = p_fecha AND fv.Moneda = d.MonedaVenta
    JOIN source.TiposCambio AS fb ON fb.FechaReporte = p_fecha AND fb.Moneda = v_base
    CROSS JOIN LATERAL (
        SELECT
            ROUND(d.MontoCompra * ROUND(CAST(fc.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8), 4) AS CompraBase,
            ROUND(d.MontoVenta * ROUND(CAST(fv.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8), 4) AS VentaBase
    ) AS v
    WHERE d.ID_Ejecucion = p_ejecucion;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
