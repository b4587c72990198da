-- logs.sp_Inicializar_Proceso
-- Creates the proceso of one report date and one ejecución per active fund
-- (plan, FASE 1.3), in one transaction, with ids from logs.Seq_ID. Also
-- snapshots each fund's portfolio codes into logs.Ejecucion_Fondos and its
-- five stages into logs.Ejecucion_Etapas (OMITIDO where the fund does not
-- have the stage, PENDIENTE otherwise).
-- Parameters:
--   FechaReporte    the report date; not NULL, not in the future
--   Usuario         who asked (Airflow: the DAG run's owner or triggering user)
--   ClaveEjecucion  the run key (Airflow run_id); calling again with the same
--                   key returns the same proceso and ejecuciones
--   Fondos          optional comma-separated ID_Fund list; NULL = all active
--                   funds on the new architecture (config.Fondos.Arquitectura
--                   = 'v3', 028); funds with the legacy writer ('v2') are not
--                   processed, and named in the list they are refused
-- Refuses: a date with no active funds, an unknown or inactive fund in the
-- list, a run key already used for another date, a second run key for a
-- date whose proceso is still EN_PROGRESO (two runs of one date at once), and
-- a date with no source data (no FX rate in source.TiposCambio, or no
-- position in source.Geneva_Posiciones for any of the funds): 50 funds
-- failing one by one would cost the operator 50 clears for one missing feed.
-- When only some funds lack positions it proceeds and says which in Aviso.
-- Returns one row per ejecución: ID_Proceso, ID_Ejecucion, ID_Fund,
-- FundShortName, portfolio codes, Etapas (applicable stages,
-- comma-separated) and Aviso (NULL, or why this fund's IPA will fail).
CREATE OR REPLACE FUNCTION logs.sp_Inicializar_Proceso(
    FechaReporte DATE,
    Usuario VARCHAR,
    ClaveEjecucion VARCHAR,
    Fondos VARCHAR DEFAULT NULL
) RETURNS TABLE (
    ID_Proceso BIGINT,
    ID_Ejecucion BIGINT,
    ID_Fund INTEGER,
    FundShortName VARCHAR,
    Portfolio_Geneva VARCHAR,
    Portfolio_CAPM VARCHAR,
    Portfolio_Derivados VARCHAR,
    Portfolio_UBS VARCHAR,
    Etapas VARCHAR,
    Aviso VARCHAR
)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_fecha ALIAS FOR $1;
    p_usuario ALIAS FOR $2;
    p_clave ALIAS FOR $3;
    p_fondos ALIAS FOR $4;
    v_proceso BIGINT;
    v_fecha_existente DATE;
    v_otro RECORD;
    v_lista INTEGER[];
    v_desconocidos TEXT;
    v_total INTEGER;
    v_legado INTEGER;
    v_en_v2 TEXT;
BEGIN
    IF p_fecha IS NULL THEN
        RAISE EXCEPTION 'FechaReporte is required (YYYY-MM-DD)';
    END IF;
    IF p_fecha > CURRENT_DATE THEN
        RAISE EXCEPTION 'FechaReporte % is in the future (today is %): a report date must be today or earlier',
            p_fecha, CURRENT_DATE;
    END IF;
    IF COALESCE(TRIM(p_clave), '') = '' THEN
        RAISE EXCEPTION 'ClaveEjecucion (the run key, e.g. the Airflow run_id) is required';
    END IF;

    -- One initialisation per date at a time: the rest of the checks read then write.
    PERFORM PG_ADVISORY_XACT_LOCK(HASHTEXT('fondos.sp_Inicializar_Proceso'), p_fecha - DATE '2000-01-01');

    SELECT p.ID_Proceso, p.FechaReporte INTO v_proceso, v_fecha_existente
    FROM logs.Procesos AS p WHERE p.ClaveEjecucion = p_clave;
    IF v_proceso IS NOT NULL AND v_fecha_existente <> p_fecha THEN
        RAISE EXCEPTION 'run key % already belongs to proceso % for %, not %: use a new run key',
            p_clave, v_proceso, v_fecha_existente, p_fecha;
    END IF;

    IF v_proceso IS NULL THEN
        SELECT p.ID_Proceso, p.ClaveEjecucion INTO v_otro
        FROM logs.Procesos AS p
        WHERE p.FechaReporte = p_fecha AND p.Estado = 'EN_PROGRESO' AND p.ClaveEjecucion IS NOT NULL
        ORDER BY p.ID_Proceso DESC LIMIT 1;
        IF FOUND THEN
            RAISE EXCEPTION 'proceso % for % is still EN_PROGRESO (run key %): wait for it to finish, or if it died close it (fondos proceso cerrar --id %, or logs.sp_Actualizar_Estadisticas_Proceso with Cerrar = 1), then trigger again',
                v_otro.ID_Proceso, p_fecha, v_otro.ClaveEjecucion, v_otro.ID_Proceso;
        END IF;

        -- Shared with other initialisations, to the end: config.sp_Asignar_Arquitectura takes it exclusively,
        -- so it waits for this proceso to be committed, then sees its ejecuciones and refuses to move a fund
        -- whose day runs; and no fund changes architecture while this one reads them.
        PERFORM PG_ADVISORY_XACT_LOCK_SHARED(HASHTEXT('fondos.config.Fondos.Arquitectura'));

        IF p_fondos IS NOT NULL THEN
            IF EXISTS (SELECT 1 FROM UNNEST(STRING_TO_ARRAY(p_fondos, ',')) AS x(v) WHERE TRIM(x.v) !~ '^[0-9]{1,9}$') THEN
                RAISE EXCEPTION 'Fondos must be a comma-separated list of ID_Fund numbers, got %', p_fondos;
            END IF;
            v_lista := ARRAY(SELECT DISTINCT TRIM(x.v)::INTEGER FROM UNNEST(STRING_TO_ARRAY(p_fondos, ',')) AS x(v));
            SELECT STRING_AGG(l.id::TEXT, ', ' ORDER BY l.id) INTO v_desconocidos
            FROM UNNEST(v_lista) AS l(id)
            WHERE NOT EXISTS (SELECT 1 FROM config.Fondos AS f WHERE f.ID_Fund = l.id AND f.Activo);
            IF v_desconocidos IS NOT NULL THEN
                RAISE EXCEPTION 'unknown or inactive fund(s): % (see config.Fondos)', v_desconocidos;
            END IF;
            SELECT STRING_AGG(f.ID_Fund::TEXT, ', ' ORDER BY f.ID_Fund) INTO v_en_v2
            FROM config.Fondos AS f WHERE f.ID_Fund = ANY(v_lista) AND f.Arquitectura <> 'v3';
            IF v_en_v2 IS NOT NULL THEN
                RAISE EXCEPTION 'fund(s) % are processed by the legacy writer (config.Fondos.Arquitectura = v2), not by procesos_diarios: nothing was created. Move them first (fondos fondos arquitectura v3 %), or leave them out of the list',
                    v_en_v2, REPLACE(v_en_v2, ',', '');
            END IF;
        END IF;

        SELECT COUNT(*) INTO v_total FROM config.Fondos AS f
        WHERE f.Activo AND f.Arquitectura = 'v3' AND (v_lista IS NULL OR f.ID_Fund = ANY(v_lista));
        SELECT COUNT(*) INTO v_legado FROM config.Fondos AS f WHERE f.Activo AND f.Arquitectura = 'v2';
        IF v_total = 0 AND v_legado > 0 THEN
            RAISE EXCEPTION 'no active funds on the new architecture to process for %: all % active fund(s) are with the legacy writer (config.Fondos.Arquitectura = v2). Nothing was created. Move funds over with fondos fondos arquitectura v3 ID [ID ...]',
                p_fecha, v_legado;
        END IF;
        IF v_total = 0 THEN
            RAISE EXCEPTION 'no active funds in config.Fondos to process for %', p_fecha;
        END IF;

        IF NOT EXISTS (SELECT 1 FROM source.TiposCambio AS fx WHERE fx.FechaReporte = p_fecha) THEN
            RAISE EXCEPTION 'no source data for %: source.TiposCambio has no FX rates for that date, so no fund can be valued. Nothing was created. Load the FX feed for %, then trigger again.',
                p_fecha, p_fecha;
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM config.Fondos AS f
            JOIN source.Geneva_Posiciones AS s ON s.Portfolio = f.Portfolio_Geneva AND s.FechaReporte = p_fecha
            WHERE f.Activo AND f.Arquitectura = 'v3' AND (v_lista IS NULL OR f.ID_Fund = ANY(v_lista))
        ) THEN
            RAISE EXCEPTION 'no source data for %: source.Geneva_Posiciones has no positions for any of the % fund(s) to process (feeds checked: Geneva positions, FX rates). Nothing was created. Load the feeds for %, then trigger again.',
                p_fecha, v_total, p_fecha;
        END IF;

        -- ids above every id that exists anywhere (legacy rows can appear after 012)
        PERFORM logs.sp_Ajustar_Secuencia_ID();
        v_proceso := NEXTVAL('logs.seq_id');
        INSERT INTO logs.Procesos (ID_Proceso, FechaReporte, Estado, Usuario, ClaveEjecucion, TotalFondos, FondosLegado)
        VALUES (v_proceso, p_fecha, 'EN_PROGRESO', p_usuario, p_clave, v_total, v_legado);

        INSERT INTO logs.Ejecuciones (ID_Ejecucion, ID_Proceso, ID_Fund, FechaReporte, Estado, Usuario, TotalFondos)
        SELECT NEXTVAL('logs.seq_id'), v_proceso, f.ID_Fund, p_fecha, 'EN_PROGRESO', p_usuario, 1
        FROM (
            SELECT f.ID_Fund FROM config.Fondos AS f
            WHERE f.Activo AND f.Arquitectura = 'v3' AND (v_lista IS NULL OR f.ID_Fund = ANY(v_lista))
            ORDER BY f.ID_Fund
        ) AS f;

        INSERT INTO logs.Ejecucion_Fondos (
            ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, Portfolio_CAPM, Portfolio_Derivados, Portfolio_UBS,
            Estado_Process_IPA, Estado_Process_CAPM, Estado_Process_PNL, Estado_Process_Derivados, Estado_Process_UBS
        )
        SELECT
            e.ID_Ejecucion, f.ID_Fund, f.FundShortName, f.Portfolio_Geneva, f.Portfolio_CAPM,
            f.Portfolio_Derivados, f.Portfolio_UBS,
            CASE WHEN f.Aplica_IPA THEN 'PENDIENTE' ELSE 'OMITIDO' END,
            CASE WHEN f.Aplica_CAPM THEN 'PENDIENTE' ELSE 'OMITIDO' END,
            CASE WHEN f.Aplica_PNL THEN 'PENDIENTE' ELSE 'OMITIDO' END,
            CASE WHEN f.Aplica_Derivados THEN 'PENDIENTE' ELSE 'OMITIDO' END,
            CASE WHEN f.Aplica_UBS THEN 'PENDIENTE' ELSE 'OMITIDO' END
        FROM logs.Ejecuciones AS e
        JOIN config.Fondos AS f ON f.ID_Fund = e.ID_Fund
        WHERE e.ID_Proceso = v_proceso;

        INSERT INTO logs.Ejecucion_Etapas (ID_Ejecucion, Etapa, Estado, FechaFin)
        SELECT f.ID_Ejecucion, s.Etapa, s.Estado, CASE WHEN s.Estado = 'OMITIDO' THEN LOCALTIMESTAMP(3) END
        FROM logs.Ejecucion_Fondos AS f
        JOIN logs.Ejecuciones AS e ON e.ID_Ejecucion = f.ID_Ejecucion
        CROSS JOIN LATERAL (VALUES
            ('IPA', f.Estado_Process_IPA), ('CAPM', f.Estado_Process_CAPM), ('PNL', f.Estado_Process_PNL),
            ('Derivados', f.Estado_Process_Derivados), ('UBS', f.Estado_Process_UBS)
        ) AS s(Etapa, Estado)
        WHERE e.ID_Proceso = v_proceso;

        PERFORM logs.sp_Recalcular_Proceso(v_proceso);
    END IF;

    RETURN QUERY
    SELECT
        e.ID_Proceso, e.ID_Ejecucion, e.ID_Fund, f.FundShortName,
        f.Portfolio_Geneva, f.Portfolio_CAPM, f.Portfolio_Derivados, f.Portfolio_UBS,
        (SELECT STRING_AGG(t.Etapa, ',' ORDER BY POSITION(t.Etapa IN 'IPA,CAPM,PNL,Derivados,UBS'))
         FROM logs.Ejecucion_Etapas AS t WHERE t.ID_Ejecucion = e.ID_Ejecucion AND t.Estado <> 'OMITIDO')::VARCHAR,
        CASE WHEN NOT EXISTS (
            SELECT 1 FROM source.Geneva_Posiciones AS s
            WHERE s.Portfolio = f.Portfolio_Geneva AND s.FechaReporte = e.FechaReporte
        ) THEN FORMAT('no positions in source.Geneva_Posiciones for portfolio %s on %s: its IPA stage will fail',
                      f.Portfolio_Geneva, e.FechaReporte)::VARCHAR
        END
    FROM logs.Ejecuciones AS e
    JOIN logs.Ejecucion_Fondos AS f ON f.ID_Ejecucion = e.ID_Ejecucion
    WHERE e.ID_Proceso = v_proceso
    ORDER BY e.ID_Fund;
END
$$;
