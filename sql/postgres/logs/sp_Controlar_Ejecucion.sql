-- logs.sp_Controlar_Ejecucion
-- The plausibility checks of one fund's figures (migration 030), after every
-- stage of its ejecución is OK or OMITIDO; replaces the ejecución's rows of
-- logs.Ejecucion_Controles, one per check, each against the fund's own
-- threshold (config.Fondos_Controles) or the default (config.Controles):
--   PATRIMONIO      Valor = ROUND(100 x |net assets - previous| / |previous|, 4),
--                   previous = the approved net assets of FechaAnterior
--                   (logs.vw_Cifras_Aprobadas); none, or zero: SIN_COMPARACION;
--   PRECIOS         Valor = ROUND(100 x positions priced COSTO or ANTERIOR /
--                   positions, 4) (0 without positions);
--   QUIEBRES        Valor = the custodian breaks (staging.UBS_Final.NumQuiebres);
--   QUIEBRES_MONTO  Importe = sum over the breaks of ROUND(ROUND(|difference| x
--                   local price, 4) x rate, 4), at the accounting position's price
--                   and rate (an instrument only the custodian holds counts 0 here,
--                   and 1 in QUIEBRES); Valor = ROUND(100 x Importe / |net assets|, 4),
--                   SIN_COMPARACION when net assets are zero; both NO_APLICA when UBS
--                   does not apply.
--   Estado RETENIDO when Valor > Umbral, else OK.
-- Numeric contract (same in the T-SQL twin): each quotient is computed with at
-- least 11 decimals before its one ROUND (exact for the counts' quotient).
-- Holds the proceso row lock, as every writer of a fund's state does, and
-- re-checks the stages under it: a stage re-run in flight refuses the checks.
-- Parameters: ID_Ejecucion, FechaReporte, ID_Fund, FechaAnterior (the previous
-- business day in the DAG's calendar). Returns Filas (4) and Retenidos.
CREATE OR REPLACE FUNCTION logs.sp_Controlar_Ejecucion(
    ID_Ejecucion BIGINT, FechaReporte DATE, ID_Fund INTEGER, FechaAnterior DATE
) RETURNS TABLE (Filas INTEGER, Retenidos INTEGER)
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
    p_anterior ALIAS FOR $4;
    v_pendientes INTEGER;
    v_patrimonio NUMERIC(19, 4);
    v_previo NUMERIC(19, 4);
    v_posiciones INTEGER;
    v_fuera INTEGER;
    v_quiebres INTEGER;
    v_monto NUMERIC(19, 4);
    v_monto_pct NUMERIC(38, 4);
    v_mov NUMERIC(38, 4);
    v_pct NUMERIC(38, 4);
    v_filas INTEGER;
BEGIN
    PERFORM logs.sp_Validar_Ejecucion(p_ejecucion, p_fecha, p_fund);
    PERFORM 1 FROM logs.Procesos AS p
    INNER JOIN logs.Ejecuciones AS e ON p.ID_Proceso = e.ID_Proceso
    WHERE e.ID_Ejecucion = p_ejecucion
    FOR UPDATE OF p;
    SELECT COUNT(*) INTO v_pendientes FROM logs.Ejecucion_Etapas AS t
    WHERE t.ID_Ejecucion = p_ejecucion AND t.Estado NOT IN ('OK', 'OMITIDO');
    IF v_pendientes > 0 THEN
        RAISE EXCEPTION 'the checks of ID_Ejecucion % (fund %) need every stage OK or OMITIDO, and % stage(s) are not: let the fund finish (or retry it), then run the checks again',
            p_ejecucion, p_fund, v_pendientes;
    END IF;

    SELECT f.PatrimonioBase INTO v_patrimonio FROM staging.PNL_Final AS f WHERE f.ID_Ejecucion = p_ejecucion;
    SELECT a.PatrimonioBase INTO v_previo FROM logs.vw_Cifras_Aprobadas AS a
    WHERE a.ID_Fund = p_fund AND a.FechaReporte = p_anterior;
    SELECT COUNT(*), COALESCE(SUM(CASE WHEN w.FuentePrecio IN ('COSTO', 'ANTERIOR') THEN 1 ELSE 0 END), 0)
    INTO v_posiciones, v_fuera
    FROM staging.IPA_WorkTable AS w WHERE w.ID_Ejecucion = p_ejecucion;
    SELECT u.NumQuiebres INTO v_quiebres FROM staging.UBS_Final AS u WHERE u.ID_Ejecucion = p_ejecucion;
    SELECT COALESCE(SUM(ROUND(ROUND(ABS(r.Diferencia) * w.PrecioLocal, 4) * w.TipoCambio, 4)), 0) INTO v_monto
    FROM staging.UBS_Reconciliacion AS r
    LEFT JOIN staging.IPA_WorkTable AS w ON r.ID_Ejecucion = w.ID_Ejecucion AND r.ID_Instrumento = w.ID_Instrumento
    WHERE r.ID_Ejecucion = p_ejecucion AND r.Estado_Conciliacion <> 'CUADRA';
    v_mov := CASE
        WHEN v_previo <> 0 AND v_patrimonio IS NOT NULL
            THEN ROUND(CAST(100 * ABS(v_patrimonio - v_previo) AS NUMERIC(38, 20)) / ABS(v_previo), 4)
    END;
    v_monto_pct := CASE
        WHEN v_patrimonio <> 0 THEN ROUND(CAST(100 * v_monto AS NUMERIC(38, 20)) / ABS(v_patrimonio), 4)
    END;
    v_pct := CASE
        WHEN v_posiciones > 0 THEN ROUND(CAST(100 * v_fuera AS NUMERIC(38, 20)) / v_posiciones, 4) ELSE 0
    END;

    DELETE FROM logs.Ejecucion_Controles AS t WHERE t.ID_Ejecucion = p_ejecucion;
    INSERT INTO logs.Ejecucion_Controles (
        ID_Ejecucion, Control, Estado, Valor, ValorAnterior, Importe, Umbral, FechaAnterior
    )
    SELECT
        p_ejecucion,
        c.Control,
        CASE
            WHEN v.Aplica = 0 THEN 'NO_APLICA'
            WHEN v.Valor IS NULL THEN 'SIN_COMPARACION'
            WHEN v.Valor > COALESCE(fc.Umbral, c.Umbral) THEN 'RETENIDO'
            ELSE 'OK'
        END,
        v.Valor,
        v.Anterior,
        v.Importe,
        COALESCE(fc.Umbral, c.Umbral),
        v.Fecha
    FROM config.Controles AS c
    INNER JOIN (
        VALUES
        ('PATRIMONIO', 1, v_mov, CAST(v_previo AS NUMERIC(38, 4)), CAST(NULL AS NUMERIC(38, 4)), p_anterior),
        ('PRECIOS', 1, v_pct, CAST(NULL AS NUMERIC(38, 4)), CAST(NULL AS NUMERIC(38, 4)), CAST(NULL AS DATE)),
        ('QUIEBRES', CASE WHEN v_quiebres IS NULL THEN 0 ELSE 1 END, CAST(v_quiebres AS NUMERIC(38, 4)),
         CAST(NULL AS NUMERIC(38, 4)), CAST(NULL AS NUMERIC(38, 4)), CAST(NULL AS DATE)),
        ('QUIEBRES_MONTO', CASE WHEN v_quiebres IS NULL THEN 0 ELSE 1 END, v_monto_pct,
         CAST(NULL AS NUMERIC(38, 4)), CAST(v_monto AS NUMERIC(38, 4)), CAST(NULL AS DATE))
    ) AS v (Control, Aplica, Valor, Anterior, Importe, Fecha) ON c.Control = v.Control
    LEFT JOIN config.Fondos_Controles AS fc ON fc.ID_Fund = p_fund AND c.Control = fc.Control;
    GET DIAGNOSTICS v_filas = ROW_COUNT;
    RETURN QUERY
    SELECT v_filas, CAST(COUNT(*) AS INTEGER) FROM logs.Ejecucion_Controles AS k
    WHERE k.ID_Ejecucion = p_ejecucion AND k.Estado = 'RETENIDO';
END
$$;
