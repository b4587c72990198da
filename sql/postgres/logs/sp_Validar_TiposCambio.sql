-- logs.sp_Validar_TiposCambio
-- Guard for the valuation steps: every currency they are about to convert
-- must have a rate in source.TiposCambio for FechaReporte.
-- Parameters: FechaReporte; Monedas (comma-separated ISO codes); Contexto
-- (who asks, for the message: stage, fund, ejecución).
-- Raises P0001 listing the missing currencies.
CREATE OR REPLACE FUNCTION logs.sp_Validar_TiposCambio(
    FechaReporte DATE, Monedas VARCHAR, Contexto VARCHAR
) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_fecha ALIAS FOR $1;
    p_monedas ALIAS FOR $2;
    p_contexto ALIAS FOR $3;
    v_faltan TEXT;
BEGIN
    SELECT STRING_AGG(DISTINCT TRIM(m.v), ', ') INTO v_faltan
    FROM UNNEST(STRING_TO_ARRAY(p_monedas, ',')) AS m(v)
    WHERE TRIM(m.v) <> ''
      AND NOT EXISTS (
          SELECT 1 FROM source.TiposCambio AS fx WHERE fx.FechaReporte = p_fecha AND fx.Moneda = TRIM(m.v)
      );
    IF v_faltan IS NOT NULL THEN
        RAISE EXCEPTION 'missing source data: no rate in source.TiposCambio on % for % (%)', p_fecha, v_faltan, p_contexto;
    END IF;
END
$$;
