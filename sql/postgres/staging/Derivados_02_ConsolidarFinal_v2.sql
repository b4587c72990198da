-- staging.Derivados_02_ConsolidarFinal_v2
-- The fund's derivatives summary: contracts, notional (bought legs) and fair
-- value in base currency, and notional as a percent of the IPA net assets
-- (NULL when those are not positive, or the notional is 9 or more times them
-- in absolute value: DECIMAL(9,6) would overflow). The quotient is computed
-- from an operand cast to NUMERIC(38,20) before its one ROUND.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's row of staging.Derivados_Final. Returns Filas.
CREATE OR REPLACE FUNCTION staging.Derivados_02_ConsolidarFinal_v2(
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
    v_activos NUMERIC(19, 4);
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'Derivados');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    SELECT COALESCE(SUM(i.ValorBase), 0) INTO v_activos FROM staging.IPA_Final AS i WHERE i.ID_Ejecucion = p_ejecucion;
    DELETE FROM staging.Derivados_Final AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.Derivados_Final (ID_Ejecucion, ID_Fund, NumContratos, NocionalBase, ValorRazonableBase, ExposicionPct)
    SELECT
        p_ejecucion, p_fund, COUNT(*), COALESCE(SUM(w.MontoCompraBase), 0), COALESCE(SUM(w.ValorRazonableBase), 0),
        CASE WHEN v_activos > 0 AND ABS(COALESCE(SUM(w.MontoCompraBase), 0)) < 9 * v_activos
             THEN ROUND(CAST(100 * COALESCE(SUM(w.MontoCompraBase), 0) AS NUMERIC(38, 20)) / v_activos, 6) END
    FROM staging.Derivados_WorkTable AS w
    WHERE w.ID_Ejecucion = p_ejecucion;
    RETURN QUERY SELECT 1;
END
$$;
