-- staging.IPA_03_CargarCaja_v2
-- Cash lines of the fund: each currency's balance in local and base currency.
-- Numeric contract (same in the T-SQL twin): SaldoBase = ROUND(SUM(Saldo) x
-- ROUND(rate(local) / rate(base), 8), 4).
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Fails when a currency has no rate for the date.
-- Effects: replaces this ejecución's rows of staging.IPA_Cash. Returns Filas.
CREATE OR REPLACE FUNCTION staging.IPA_03_CargarCaja_v2(
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
    SELECT STRING_AGG(DISTINCT c.Moneda, ',') INTO v_monedas FROM extract.SONA AS c WHERE c.ID_Ejecucion = p_ejecucion;
    PERFORM logs.sp_Validar_TiposCambio(p_fecha, CONCAT_WS(',', v_base, v_monedas),
        FORMAT('IPA cash, ID_Fund %s, ID_Ejecucion %s', p_fund, p_ejecucion));

    DELETE FROM staging.IPA_Cash AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.IPA_Cash (ID_Ejecucion, ID_Fund, Moneda, SaldoLocal, TipoCambio, SaldoBase)
    SELECT
        p_ejecucion, p_fund, c.Moneda, SUM(c.Saldo),
        ROUND(CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8),
        ROUND(SUM(c.Saldo) * ROUND(CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8), 4)
    FROM extract.SONA AS c
    JOIN source.TiposCambio AS fl ON fl.FechaReporte = p_fecha AND fl.Moneda = c.Moneda
    JOIN source.TiposCambio AS fb ON fb.FechaReporte = p_fecha AND fb.Moneda = v_base
    WHERE c.ID_Ejecucion = p_ejecucion
    GROUP BY c.Moneda, fl.TipoCambio, fb.TipoCambio;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
