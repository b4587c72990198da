-- extract.IPA_00_Extraer_v2
-- Extract step of IPA for one fund: copies the fund's Geneva positions
-- (extract.IPA), cash (extract.SONA) and the last 10 days of prices of the
-- instruments it holds (extract.PosModRF) for FechaReporte, under the fund's
-- own ID_Ejecucion. Delete-then-insert: re-running gives the same rows.
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund, Portfolio_Geneva.
-- Fails when the feed has no positions for the portfolio and date.
-- Returns Filas, the rows written.
CREATE OR REPLACE FUNCTION extract.IPA_00_Extraer_v2(
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
    v_filas INTEGER := 0;
    v_n INTEGER;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'IPA');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    IF NOT EXISTS (
        SELECT 1 FROM source.Geneva_Posiciones AS s WHERE s.Portfolio = p_portfolio AND s.FechaReporte = p_fecha
    ) THEN
        RAISE EXCEPTION 'missing source data: no positions in source.Geneva_Posiciones for portfolio % on % (ID_Fund %, ID_Ejecucion %)',
            p_portfolio, p_fecha, p_fund, p_ejecucion;
    END IF;

    DELETE FROM extract.IPA AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO extract.IPA (
        ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, CostoLocal
    )
    SELECT p_ejecucion, s.FechaReporte, s.Portfolio, s.ID_Instrumento, s.Tipo_Instrumento, s.Moneda, s.Cantidad, s.CostoLocal
    FROM source.Geneva_Posiciones AS s
    WHERE s.Portfolio = p_portfolio AND s.FechaReporte = p_fecha;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_filas := v_filas + v_n;

    DELETE FROM extract.SONA AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO extract.SONA (ID_Ejecucion, FechaReporte, Portfolio, Moneda, Saldo)
    SELECT p_ejecucion, c.FechaReporte, c.Portfolio, c.Moneda, c.Saldo
    FROM source.Geneva_Caja AS c
    WHERE c.Portfolio = p_portfolio AND c.FechaReporte = p_fecha;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_filas := v_filas + v_n;

    DELETE FROM extract.PosModRF AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO extract.PosModRF (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, FechaPrecio, Precio)
    SELECT p_ejecucion, p_fecha, p_portfolio, pr.ID_Instrumento, pr.FechaReporte, pr.Precio
    FROM source.Geneva_Posiciones AS s
    JOIN source.Geneva_Precios AS pr
        ON pr.ID_Instrumento = s.ID_Instrumento AND pr.FechaReporte BETWEEN p_fecha - 10 AND p_fecha
    WHERE s.Portfolio = p_portfolio AND s.FechaReporte = p_fecha;
    GET DIAGNOSTICS v_n = ROW_COUNT;
    v_filas := v_filas + v_n;

    RETURN QUERY SELECT v_filas;
END
$$;
