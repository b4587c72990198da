-- staging.IPA_02_ValorizarPosiciones_v2
-- Values each position: market value in local currency (quantity x rescued
-- price) and in the fund's base currency (x the day's rate local/base).
-- Numeric contract (the same in the T-SQL twin, and in the tests' oracle):
--   ValorMercadoLocal = ROUND(Cantidad x PrecioLocal, 4)
--   TipoCambio        = ROUND(rate(local) / rate(base), 8)
--   ValorMercadoBase  = ROUND(ValorMercadoLocal x TipoCambio, 4)
-- Each product is exact before its one rounding (SQL Server needs casts for
-- that: above precision 38 it cuts the scale and rounds twice).
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Fails when a currency has no rate for the date.
-- Effects: replaces this ejecución's rows of staging.IPA_WorkTable. Returns Filas.
CREATE OR REPLACE FUNCTION staging.IPA_02_ValorizarPosiciones_v2(
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
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'IPA');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    SELECT f.Moneda_Base INTO v_base FROM config.Fondos AS f WHERE f.ID_Fund = p_fund;
    SELECT STRING_AGG(DISTINCT i.Moneda, ',') INTO v_monedas FROM extract.IPA AS i WHERE i.ID_Ejecucion = p_ejecucion;
    PERFORM logs.sp_Validar_TiposCambio(p_fecha, CONCAT_WS(',', v_base, v_monedas),
        FORMAT('IPA, ID_Fund %s, ID_Ejecucion %s', p_fund, p_ejecucion));

    DELETE FROM staging.IPA_WorkTable AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.IPA_WorkTable (
        ID_Ejecucion, ID_Fund, ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, PrecioLocal, FuentePrecio,
        ValorMercadoLocal, TipoCambio, ValorMercadoBase
    )
    SELECT
        p_ejecucion, p_fund, i.ID_Instrumento, i.Tipo_Instrumento, i.Moneda, i.Cantidad, pr.PrecioLocal, pr.FuentePrecio,
        v.ValorLocal, v.TipoCambio, ROUND(v.ValorLocal * v.TipoCambio, 4)
    FROM extract.IPA AS i
    JOIN staging.IPA_Precios AS pr
        ON pr.ID_Ejecucion = i.ID_Ejecucion AND pr.ID_Fund = p_fund AND pr.ID_Instrumento = i.ID_Instrumento
    JOIN source.TiposCambio AS fl ON fl.FechaReporte = p_fecha AND fl.Moneda = i.Moneda
    JOIN source.TiposCambio AS fb ON fb.FechaReporte = p_fecha AND fb.Moneda = v_base
    CROSS JOIN LATERAL (
        SELECT ROUND(i.Cantidad * pr.PrecioLocal, 4) AS ValorLocal, ROUND(CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8) AS TipoCambio
    ) AS v
    WHERE i.ID_Ejecucion = p_ejecucion;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
