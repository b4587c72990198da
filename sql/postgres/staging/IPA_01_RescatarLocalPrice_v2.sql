-- staging.IPA_01_RescatarLocalPrice_v2
-- Rescues each position's local price (the plan's first IPA step, same name
-- and parameters): the price of FechaReporte when the feed has it (MERCADO),
-- else the latest price of the previous 10 days (ANTERIOR), else the unit
-- cost (COSTO). Keeps the latest price before FechaReporte for PNL.
-- Numeric contract (same in the T-SQL twin): unit cost = ROUND(CostoLocal /
-- Cantidad, 6), the quotient computed with 20 decimals before its one ROUND.
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund, Portfolio_Geneva.
-- Effects: replaces this ejecución's rows of staging.IPA_Precios. Returns Filas.
CREATE OR REPLACE FUNCTION staging.IPA_01_RescatarLocalPrice_v2(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER, Portfolio_Geneva VARCHAR
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
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'IPA');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM staging.IPA_Precios AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.IPA_Precios (
        ID_Ejecucion, ID_Fund, ID_Instrumento, Moneda, PrecioLocal, FuentePrecio, FechaPrecio, PrecioAnterior
    )
    SELECT
        p_ejecucion,
        p_fund,
        i.ID_Instrumento,
        i.Moneda,
        COALESCE(hoy.Precio, ant.Precio, ROUND(CAST(i.CostoLocal AS NUMERIC(38, 20)) / NULLIF(i.Cantidad, 0), 6), 0),
        CASE WHEN hoy.Precio IS NOT NULL THEN 'MERCADO' WHEN ant.Precio IS NOT NULL THEN 'ANTERIOR' ELSE 'COSTO' END,
        COALESCE(hoy.FechaPrecio, ant.FechaPrecio),
        ant.Precio
    FROM extract.IPA AS i
    LEFT JOIN extract.PosModRF AS hoy
        ON hoy.ID_Ejecucion = i.ID_Ejecucion AND hoy.Portfolio = i.Portfolio
       AND hoy.ID_Instrumento = i.ID_Instrumento AND hoy.FechaPrecio = p_fecha
    LEFT JOIN LATERAL (
        SELECT m.Precio, m.FechaPrecio
        FROM extract.PosModRF AS m
        WHERE m.ID_Ejecucion = i.ID_Ejecucion AND m.Portfolio = i.Portfolio
          AND m.ID_Instrumento = i.ID_Instrumento AND m.FechaPrecio < p_fecha
        ORDER BY m.FechaPrecio DESC
        LIMIT 1
    ) AS ant ON TRUE
    WHERE i.ID_Ejecucion = p_ejecucion AND i.Portfolio = p_portfolio;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
