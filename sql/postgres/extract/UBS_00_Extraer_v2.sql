-- extract.UBS_00_Extraer_v2
-- Extract step of UBS for one fund: copies the custodian's holdings of the
-- fund's account for FechaReporte into extract.UBS under its own
-- ID_Ejecucion. Fails when the custodian file for that account and date has
-- not arrived (no rows): reconciling against nothing would report every
-- position as a break.
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund, Portfolio_UBS (the custodian account).
-- Returns Filas, the rows written.
CREATE OR REPLACE FUNCTION extract.UBS_00_Extraer_v2(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER, Portfolio_UBS VARCHAR
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
    p_cuenta ALIAS FOR $4;
    v_filas INTEGER;
BEGIN
    PERFORM logs.sp_Bloquear_Ejecucion(p_ejecucion, 'UBS');
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    IF NOT EXISTS (SELECT 1 FROM source.UBS_Custodia AS u WHERE u.Cuenta = p_cuenta AND u.FechaReporte = p_fecha) THEN
        RAISE EXCEPTION 'missing source data: no custodian holdings in source.UBS_Custodia for account % on % (ID_Fund %, ID_Ejecucion %)',
            p_cuenta, p_fecha, p_fund, p_ejecucion;
    END IF;
    DELETE FROM extract.UBS AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO extract.UBS (ID_Ejecucion, FechaReporte, Cuenta, ID_Instrumento, Cantidad)
    SELECT p_ejecucion, u.FechaReporte, u.Cuenta, u.ID_Instrumento, u.Cantidad
    FROM source.UBS_Custodia AS u
    WHERE u.Cuenta = p_cuenta AND u.FechaReporte = p_fecha;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY SELECT v_filas;
END
$$;
