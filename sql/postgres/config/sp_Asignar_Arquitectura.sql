-- config.sp_Asignar_Arquitectura
-- Moves funds between the legacy writer ('v2') and procesos_diarios ('v3')
-- (028; the plan's Riesgo 3), all of the list or none of it.
-- Parameters:
--   Fondos        comma-separated ID_Fund list (1 to 9 digits each)
--   Arquitectura  'v2' or 'v3'
--   Usuario       who asked (recorded in ArquitecturaUsuario, with the time in ArquitecturaDesde)
-- Refuses, changing nothing: a bad list or architecture, an unknown fund, and a
-- fund whose day is running: an ejecución EN_PROGRESO of procesos_diarios, a
-- stage of one still EN_PROGRESO or REINTENTANDO (an ejecución already ERROR
-- can have sibling stages running), or a legacy run EN_PROGRESO started in the
-- last 24 hours that lists the fund (older ones are crashed history, not a
-- running day). A fund moved while its day runs would be processed by both
-- writers, or by neither.
-- Locks: the advisory lock 'fondos.config.Fondos.Arquitectura', exclusive, to
-- the end: one switch at a time, and it waits for every initialisation in
-- flight (logs.sp_Inicializar_Proceso holds it shared), so the running check
-- below sees their ejecuciones, and none starts until this one commits.
-- A fund already on the requested architecture is left as it is (its
-- ArquitecturaDesde too). Returns one row per listed fund: ID_Fund,
-- FundShortName, Anterior (before), Actual (now).
CREATE OR REPLACE FUNCTION config.sp_Asignar_Arquitectura(
    Fondos VARCHAR,
    Arquitectura VARCHAR,
    Usuario VARCHAR
) RETURNS TABLE (
    ID_Fund INTEGER,
    FundShortName VARCHAR,
    Anterior VARCHAR,
    Actual VARCHAR
)
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_fondos ALIAS FOR $1;
    p_arquitectura ALIAS FOR $2;
    p_usuario ALIAS FOR $3;
    v_lista INTEGER[];
    v_desconocidos TEXT;
    v_ocupados TEXT;
    v_ids INTEGER[];
    v_antes VARCHAR[];
BEGIN
    IF p_arquitectura IS NULL OR p_arquitectura NOT IN ('v2', 'v3') THEN
        RAISE EXCEPTION 'Arquitectura must be v2 (the legacy writer) or v3 (procesos_diarios), got %', p_arquitectura;
    END IF;
    IF COALESCE(TRIM(p_fondos), '') = ''
        OR EXISTS (SELECT 1 FROM UNNEST(STRING_TO_ARRAY(p_fondos, ',')) AS x(v) WHERE TRIM(x.v) !~ '^[0-9]{1,9}$') THEN
        RAISE EXCEPTION 'Fondos must be a comma-separated list of ID_Fund numbers, got %', p_fondos;
    END IF;
    IF COALESCE(TRIM(p_usuario), '') = '' OR LENGTH(p_usuario) > 100 THEN
        RAISE EXCEPTION 'Usuario (who moves the funds) is required, at most 100 characters';
    END IF;
    v_lista := ARRAY(SELECT DISTINCT TRIM(x.v)::INTEGER FROM UNNEST(STRING_TO_ARRAY(p_fondos, ',')) AS x(v));

    PERFORM PG_ADVISORY_XACT_LOCK(HASHTEXT('fondos.config.Fondos.Arquitectura'));

    SELECT STRING_AGG(l.id::TEXT, ', ' ORDER BY l.id) INTO v_desconocidos
    FROM UNNEST(v_lista) AS l(id)
    WHERE NOT EXISTS (SELECT 1 FROM config.Fondos AS f WHERE f.ID_Fund = l.id);
    IF v_desconocidos IS NOT NULL THEN
        RAISE EXCEPTION 'unknown fund(s): % (see config.Fondos): nothing was changed', v_desconocidos;
    END IF;

    -- Under the lock: every initialisation that was in flight has committed, so its ejecuciones are seen.
    SELECT STRING_AGG(x.Detalle, ', ' ORDER BY x.ID_Fund) INTO v_ocupados
    FROM (
        SELECT e.ID_Fund, FORMAT('%s (ejecución %s of proceso %s)', e.ID_Fund, e.ID_Ejecucion, e.ID_Proceso) AS Detalle
        FROM logs.Ejecuciones AS e
        WHERE e.ID_Fund = ANY(v_lista) AND e.Estado = 'EN_PROGRESO' AND e.ID_Ejecucion >= 1000000000000000
        UNION ALL
        SELECT e.ID_Fund, FORMAT('%s (stage %s %s of ejecución %s)', e.ID_Fund, t.Etapa, t.Estado, e.ID_Ejecucion)
        FROM logs.Ejecuciones AS e
        JOIN logs.Ejecucion_Etapas AS t ON t.ID_Ejecucion = e.ID_Ejecucion
        WHERE e.ID_Fund = ANY(v_lista) AND e.Estado <> 'EN_PROGRESO' AND e.ID_Ejecucion >= 1000000000000000
            AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO')
        UNION ALL
        SELECT ef.ID_Fund, FORMAT('%s (legacy run %s)', ef.ID_Fund, e.ID_Ejecucion)
        FROM logs.Ejecuciones AS e
        JOIN logs.Ejecucion_Fondos AS ef ON ef.ID_Ejecucion = e.ID_Ejecucion
        WHERE ef.ID_Fund = ANY(v_lista) AND e.Estado = 'EN_PROGRESO' AND e.ID_Ejecucion < 1000000000000000
            AND e.FechaInicio >= LOCALTIMESTAMP(3) - INTERVAL '24 hours'
    ) AS x;
    IF v_ocupados IS NOT NULL THEN
        RAISE EXCEPTION 'arquitectura refused: the day is running for fund(s) %: nothing was changed. Wait for the run to end (or, if it died, close its proceso: fondos proceso cerrar --id N), then move them',
            v_ocupados;
    END IF;

    SELECT ARRAY_AGG(f.ID_Fund ORDER BY f.ID_Fund), ARRAY_AGG(f.Arquitectura ORDER BY f.ID_Fund)
    INTO v_ids, v_antes
    FROM config.Fondos AS f WHERE f.ID_Fund = ANY(v_lista);

    UPDATE config.Fondos AS f
    SET Arquitectura = p_arquitectura, ArquitecturaDesde = LOCALTIMESTAMP(3), ArquitecturaUsuario = p_usuario
    WHERE f.ID_Fund = ANY(v_lista) AND f.Arquitectura <> p_arquitectura;

    RETURN QUERY
    SELECT f.ID_Fund, f.FundShortName, a.antes, f.Arquitectura
    FROM config.Fondos AS f
    JOIN UNNEST(v_ids, v_antes) AS a(id, antes) ON a.id = f.ID_Fund
    ORDER BY f.ID_Fund;
END
$$;

-- An operator's command (026's fondos_operador); the pipeline's tasks never move funds.
GRANT EXECUTE ON FUNCTION config.sp_Asignar_Arquitectura(VARCHAR, VARCHAR, VARCHAR) TO fondos_operador;
