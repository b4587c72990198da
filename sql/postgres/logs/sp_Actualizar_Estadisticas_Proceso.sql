-- logs.sp_Actualizar_Estadisticas_Proceso
-- The final task's call: recomputes the proceso's figures from its children
-- and returns them. With Cerrar = 1 it also closes the proceso, so it ends
-- OK or ERROR, never stuck EN_PROGRESO: a stage still EN_PROGRESO or
-- REINTENTANDO (its attempt never recorded an outcome) becomes ERROR, and a
-- fund that then has no failed stage but still has PENDIENTE stages gets them
-- marked ERROR (they never ran). Stages PENDIENTE behind a failed stage stay
-- PENDIENTE on every path: they never ran because of it. The Airflow task
-- closing the proceso first reconciles with Airflow's own task states
-- (fondos.pipeline.proceso.reconciliar), so its messages say "killed on try N".
-- Refuses legacy history (logs.sp_Rechazar_Legado): its figures are the legacy
-- backend's and are never recomputed.
-- Parameters: ID_Proceso; Cerrar (0 = recompute only, 1 = close).
-- Returns one row: FechaReporte, Estado, TotalFondos,
-- FondosExitosos, FondosFallidos, FechaInicio, FechaFin.
CREATE OR REPLACE FUNCTION logs.sp_Actualizar_Estadisticas_Proceso(
    ID_Proceso BIGINT, Cerrar BOOLEAN DEFAULT FALSE
) RETURNS TABLE (
    FechaReporte DATE,
    Estado VARCHAR,
    TotalFondos INTEGER,
    FondosExitosos INTEGER,
    FondosFallidos INTEGER,
    FechaInicio TIMESTAMP,
    FechaFin TIMESTAMP
)
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_cerrar ALIAS FOR $2;
BEGIN
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL,
        CASE WHEN p_cerrar THEN 'cerrar (close a proceso)' ELSE 'recomputing the figures of a proceso' END);
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;

    IF p_cerrar THEN
        UPDATE logs.Ejecucion_Etapas AS t
        SET Estado = 'ERROR',
            FechaFin = LOCALTIMESTAMP(3),
            Mensaje = LEFT(FORMAT('attempt %s did not finish before the proceso was closed (task killed, worker lost '
                || 'or timed out)%s; clear this fund''s task to run it again', t.Intentos,
                CASE WHEN t.Mensaje IS NOT NULL THEN '; last message: ' || t.Mensaje ELSE '' END), 4000)
        FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = t.ID_Ejecucion
          AND e.ID_Proceso = p_proceso
          AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO');
        UPDATE logs.Ejecucion_Etapas AS t
        SET Estado = 'ERROR',
            FechaFin = LOCALTIMESTAMP(3),
            Mensaje = 'the stage never ran before the proceso was closed; clear this fund''s task to run it again'
        FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = t.ID_Ejecucion
          AND e.ID_Proceso = p_proceso
          AND t.Estado = 'PENDIENTE'
          AND NOT EXISTS (
              SELECT 1 FROM logs.Ejecucion_Etapas AS x WHERE x.ID_Ejecucion = t.ID_Ejecucion AND x.Estado = 'ERROR'
          );
        UPDATE logs.Ejecucion_Fondos AS f
        SET Estado_Process_IPA = (SELECT t.Estado FROM logs.Ejecucion_Etapas AS t WHERE t.ID_Ejecucion = f.ID_Ejecucion AND t.Etapa = 'IPA'),
            Estado_Process_CAPM = (SELECT t.Estado FROM logs.Ejecucion_Etapas AS t WHERE t.ID_Ejecucion = f.ID_Ejecucion AND t.Etapa = 'CAPM'),
            Estado_Process_PNL = (SELECT t.Estado FROM logs.Ejecucion_Etapas AS t WHERE t.ID_Ejecucion = f.ID_Ejecucion AND t.Etapa = 'PNL'),
            Estado_Process_Derivados = (SELECT t.Estado FROM logs.Ejecucion_Etapas AS t WHERE t.ID_Ejecucion = f.ID_Ejecucion AND t.Etapa = 'Derivados'),
            Estado_Process_UBS = (SELECT t.Estado FROM logs.Ejecucion_Etapas AS t WHERE t.ID_Ejecucion = f.ID_Ejecucion AND t.Etapa = 'UBS')
        FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = f.ID_Ejecucion AND e.ID_Proceso = p_proceso;
    END IF;

    PERFORM logs.sp_Recalcular_Proceso(p_proceso);

    RETURN QUERY
    SELECT p.FechaReporte, p.Estado, p.TotalFondos, p.FondosExitosos, p.FondosFallidos,
           p.FechaInicio::TIMESTAMP, p.FechaFin::TIMESTAMP
    FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso;
END
$$;

-- The operator's `fondos proceso cerrar` (026) runs it too, as the pipeline's cerrar_proceso does.
GRANT EXECUTE ON FUNCTION logs.sp_Actualizar_Estadisticas_Proceso(BIGINT, BOOLEAN) TO fondos_operador;
