-- logs.sp_Validar_Ejecucion
-- Guard called first by every stage step: the ID_Ejecucion must be the given
-- fund's ejecución for the given date, so a step can never be pointed at
-- another fund's rows or at an unknown fund.
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund. Raises P0001 when they do not match.
CREATE OR REPLACE FUNCTION logs.sp_Validar_Ejecucion(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER
) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_ejecucion ALIAS FOR $1;
    p_fecha ALIAS FOR $2;
    p_fund ALIAS FOR $3;
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = p_ejecucion AND e.ID_Fund = p_fund AND e.FechaReporte = p_fecha
    ) THEN
        RAISE EXCEPTION 'ID_Ejecucion % is not the ejecución of fund % for % (unknown fund or ejecución); use the ejecuciones returned by logs.sp_Inicializar_Proceso',
            p_ejecucion, p_fund, p_fecha;
    END IF;
END
$$;
