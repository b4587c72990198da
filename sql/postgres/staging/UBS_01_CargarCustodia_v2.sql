-- staging.UBS_01_CargarCustodia_v2
-- The custodian's holdings of the fund per instrument (summing lots).
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund.
-- Effects: replaces this ejecución's rows of staging.UBS_WorkTable. Returns Filas.
CREATE OR REPLACE FUNCTION staging.UBS_01_CargarCustodia_v2(
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
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'UBS');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    DELETE FROM staging.UBS_WorkTable AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO staging.UBS_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento, CantidadCustodio)
    SELECT p_ejecucion, p_fund, u.ID_Instrumento, SUM(u.Cantidad)
    FROM extract.UBS AS u
    WHERE u.ID_Ejecucion = p_ejecucion
    GROUP BY u.ID_Instrumento;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
