-- staging.CAPM_01_CargarMovimientos_v2
-- The fund's capital movements signed (subscriptions +, redemptions -) and
-- converted to its base currency.
-- Numeric contract (same in the T-SQL twin): MontoBase = ROUND(signed Monto x
-- ROUND(rate(local) / rate(base), 8), 4).
-- Holds the (CAPM, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Fails on an unknown movement type or a currency with no rate for the date.
-- Effects: replaces this ejecución's rows of staging.CAPM_WorkTable. Returns Filas.
CREATE OR REPLACE FUNCTION staging.CAPM_01_CargarMovimientos_v2(
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
    v_tipo TEXT;
    v_filas INTEGER;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'CAPM');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    SELECT MIN(m.TipoMovimiento) INTO v_tipo FROM extract.CAPM AS m
    WHERE m.ID_Ejecucion = p_ejecucion AND m.TipoMovimiento NOT IN ('SUSCRIPCION', 'RESCATE');
    IF v_tipo IS NOT NULL THEN
        RAISE EXCEPTION 'unknown capital movement type % in extract.CAPM (ID_Fund %, ID_Ejecucion %): expected SUSCRIPCION or RESCATE',
            v_tipo, p_fund, p_ejecucion;
    END IF;
    SELECT f.Moneda_Base INTO v_base FROM config.Fondos AS f WHERE f.ID_Fund = p_fund;
    SELECT STRING_AGG(DISTINCT m.Moneda, ',') INTO v_monedas FROM extract.CAPM AS m WHERE m.ID_Ejecucion = p_ejecucion;
    PERFORM logs.sp_Validar_TiposCambio(p_fecha, CONCAT_WS(',', v_base, v_monedas),
        FORMAT('CAPM, ID_Fund %s, ID_Ejecucion %s', p_fund, p_ejecucion));

    DELETE FROM staging.CAPM_WorkTable AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.CAPM_WorkTable (
        ID_Ejecucion, ID_Fund, ID_Movimiento, TipoMovimiento, Moneda, MontoLocal, TipoCambio, MontoBase
    )
    SELECT
        p_ejecucion, p_fund, m.ID_Movimiento, m.TipoMovimiento, m.Moneda,
        CASE WHEN m.TipoMovimiento = 'RESCATE' THEN -ABS(m.Monto) ELSE ABS(m.Monto) END,
        ROUND(CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8),
        ROUND(CASE WHEN m.TipoMovimiento = 'RESCATE' THEN -ABS(m.Monto) ELSE ABS(m.Monto) END
              * ROUND(CAST(fl.TipoCambio AS NUMERIC(38, 20)) / fb.TipoCambio, 8), 4)
    FROM extract.CAPM AS m
    JOIN source.TiposCambio AS fl ON fl.FechaReporte = p_fecha AND fl.Moneda = m.Moneda
    JOIN source.TiposCambio AS fb ON fb.FechaReporte = p_fecha AND fb.Moneda = v_base
    WHERE m.ID_Ejecucion = p_ejecucion;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
