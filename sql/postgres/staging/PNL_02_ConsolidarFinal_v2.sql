-- staging.PNL_02_ConsolidarFinal_v2
-- The fund's day: price result, net assets (IPA lines plus the derivatives'
-- fair value), net capital flow, and the return net of flows:
--   result / (net assets - result - net flow), in percent; NULL when the
--   opening net assets are not positive, or the result is 9 or more times
--   them (DECIMAL(9,6) would overflow). Every quotient is computed from an
--   operand cast to NUMERIC(38,20) (20 decimals, as SQL Server keeps 16+)
--   before its one ROUND.
-- Holds the (PNL, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund. Needs IPA, CAPM, Derivados.
-- Effects: replaces this ejecución's row of staging.PNL_Final. Returns Filas.
CREATE OR REPLACE FUNCTION staging.PNL_02_ConsolidarFinal_v2(
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
    v_resultado NUMERIC(19, 4);
    v_patrimonio NUMERIC(19, 4);
    v_flujo NUMERIC(19, 4);
    v_inicial NUMERIC(19, 4);
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'PNL');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    SELECT COALESCE(SUM(w.ResultadoBase), 0) INTO v_resultado
    FROM staging.PNL_WorkTable AS w WHERE w.ID_Ejecucion = p_ejecucion;
    SELECT COALESCE((SELECT SUM(i.ValorBase) FROM staging.IPA_Final AS i WHERE i.ID_Ejecucion = p_ejecucion), 0)
         + COALESCE((SELECT SUM(d.ValorRazonableBase) FROM staging.Derivados_Final AS d WHERE d.ID_Ejecucion = p_ejecucion), 0)
    INTO v_patrimonio;
    SELECT COALESCE(SUM(c.FlujoNeto), 0) INTO v_flujo FROM staging.CAPM_Final AS c WHERE c.ID_Ejecucion = p_ejecucion;
    v_inicial := v_patrimonio - v_resultado - v_flujo;

    DELETE FROM staging.PNL_Final AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.PNL_Final (ID_Ejecucion, ID_Fund, ResultadoBase, PatrimonioBase, FlujoNeto, RentabilidadPct)
    VALUES (
        p_ejecucion, p_fund, v_resultado, v_patrimonio, v_flujo,
        CASE WHEN v_inicial > 0 AND ABS(v_resultado) < 9 * v_inicial THEN ROUND(CAST(100 * v_resultado AS NUMERIC(38, 20)) / v_inicial, 6) END
    );
    RETURN QUERY SELECT 1;
END
$$;
