-- staging.PNL_01_CalcularResultado_v2
-- Price result of each position since the previous available price:
-- quantity x (price - previous price), in local and base currency. A position
-- with no previous price (new instrument) has a zero result.
-- Numeric contract (same in the T-SQL twin): ResultadoLocal = ROUND(Cantidad x
-- (PrecioLocal - PrecioAnterior), 4); ResultadoBase = ROUND(ResultadoLocal x
-- TipoCambio, 4), the base amount from the booked local one, as IPA_02 does.
-- Holds the (PNL, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's rows of staging.PNL_WorkTable. Returns Filas.
CREATE OR REPLACE FUNCTION staging.PNL_01_CalcularResultado_v2(
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
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'PNL');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM staging.PNL_WorkTable AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.PNL_WorkTable (
        ID_Ejecucion, ID_Fund, ID_Instrumento, Moneda, Cantidad, PrecioLocal, PrecioAnterior, ResultadoLocal, ResultadoBase
    )
    SELECT
        p_ejecucion, p_fund, w.ID_Instrumento, w.Moneda, w.Cantidad, w.PrecioLocal,
        COALESCE(pr.PrecioAnterior, w.PrecioLocal),
        v.ResultadoLocal, ROUND(v.ResultadoLocal * w.TipoCambio, 4)
    FROM staging.IPA_WorkTable AS w
    JOIN staging.IPA_Precios AS pr
        ON pr.ID_Ejecucion = w.ID_Ejecucion AND pr.ID_Fund = w.ID_Fund AND pr.ID_Instrumento = w.ID_Instrumento
    CROSS JOIN LATERAL (
        SELECT ROUND(w.Cantidad * (w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal)), 4) AS ResultadoLocal
    ) AS v
    WHERE w.ID_Ejecucion = p_ejecucion;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
