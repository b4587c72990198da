-- logs.sp_Registrar_Metricas_Proceso
-- Stores the plan's success metrics of one proceso (logs.Proceso_Metricas,
-- migration 022) from the server counters the pipeline read just before.
--   Momento 'INICIO' (crear_proceso): the counters as they are now. The first
--     snapshot wins: a retried or cleared crear_proceso keeps it.
--   Momento 'FIN' (every close): each counter's delta since INICIO, the
--     proceso's duration (FechaFin - FechaInicio of logs.Procesos), funds per
--     hour ((OK + failed funds) per hour of that duration; NULL under one
--     second, which is no rate at all) and the stage retries (attempts beyond
--     the first, summed over the proceso's stages). DuracionSegundos is whole
--     seconds, truncated (as on SQL Server: 599.9 s is 599, under 10 minutes).
--     A delta is NULL when either snapshot is missing, the counters started
--     counting at another time (ServidorDesde: server restart or statistics
--     reset in between) or the counter went down: unknown, never a wrong
--     number. Without an INICIO row (a proceso created before 022) the row is
--     created with NULL deltas and the proceso's own start as its start.
-- Takes the proceso row lock, as every lifecycle routine does, so a close
-- and a retried creation never write the row at once. Refuses legacy history
-- (logs.sp_Rechazar_Legado) and an unknown proceso.
-- Parameters: ID_Proceso; Momento ('INICIO' | 'FIN'); Motor (this dialect:
-- 'postgres'); Deadlocks, LockWaits, LockTimeouts, LockEscalations (the
-- cumulative counters, NULL when the server has no such counter or they could
-- not be read); ServidorDesde (since when they count: GREATEST of
-- pg_postmaster_start_time() and pg_stat_database.stats_reset).
-- Returns nothing: read the row from logs.vw_Proceso_Metricas.
CREATE OR REPLACE FUNCTION logs.sp_Registrar_Metricas_Proceso(
    ID_Proceso BIGINT,
    Momento VARCHAR,
    Motor VARCHAR,
    Deadlocks BIGINT DEFAULT NULL,
    LockWaits BIGINT DEFAULT NULL,
    LockTimeouts BIGINT DEFAULT NULL,
    LockEscalations BIGINT DEFAULT NULL,
    ServidorDesde TIMESTAMP DEFAULT NULL
) RETURNS VOID
LANGUAGE plpgsql
-- Least privilege (018): runs with the owner's rights; callers need only EXECUTE.
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    p_proceso ALIAS FOR $1;
    p_momento ALIAS FOR $2;
    p_motor ALIAS FOR $3;
    p_deadlocks ALIAS FOR $4;
    p_waits ALIAS FOR $5;
    p_timeouts ALIAS FOR $6;
    p_escalations ALIAS FOR $7;
    p_desde ALIAS FOR $8;
BEGIN
    IF p_momento IS NULL OR p_momento NOT IN ('INICIO', 'FIN') THEN
        RAISE EXCEPTION 'Momento must be INICIO or FIN, not %', COALESCE(p_momento, 'NULL');
    END IF;
    IF p_motor IS DISTINCT FROM 'postgres' THEN
        RAISE EXCEPTION 'Motor must be postgres on PostgreSQL, not %', COALESCE(p_motor, 'NULL');
    END IF;
    PERFORM logs.sp_Rechazar_Legado(p_proceso, NULL, 'recording the metrics of a proceso');
    PERFORM 1 FROM logs.Procesos AS p WHERE p.ID_Proceso = p_proceso FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown ID_Proceso %', p_proceso;
    END IF;

    INSERT INTO logs.Proceso_Metricas AS m (
        ID_Proceso, Motor, FechaInicioMedicion, Deadlocks_Inicio, LockWaits_Inicio, LockTimeouts_Inicio,
        LockEscalations_Inicio, ServidorDesde_Inicio
    )
    SELECT
        p_proceso, p_motor,
        CASE WHEN p_momento = 'INICIO' THEN LOCALTIMESTAMP(3) ELSE p.FechaInicio END,
        CASE WHEN p_momento = 'INICIO' THEN p_deadlocks END,
        CASE WHEN p_momento = 'INICIO' THEN p_waits END,
        CASE WHEN p_momento = 'INICIO' THEN p_timeouts END,
        CASE WHEN p_momento = 'INICIO' THEN p_escalations END,
        CASE WHEN p_momento = 'INICIO' THEN p_desde END
    FROM logs.Procesos AS p
    WHERE p.ID_Proceso = p_proceso
    ON CONFLICT (ID_Proceso) DO NOTHING;

    IF p_momento = 'FIN' THEN
        UPDATE logs.Proceso_Metricas AS m
        SET FechaCierreMedicion = LOCALTIMESTAMP(3),
            Deadlocks = CASE
                WHEN p_desde = m.ServidorDesde_Inicio AND p_deadlocks >= m.Deadlocks_Inicio
                    THEN p_deadlocks - m.Deadlocks_Inicio
            END,
            LockWaits = CASE
                WHEN p_desde = m.ServidorDesde_Inicio AND p_waits >= m.LockWaits_Inicio
                    THEN p_waits - m.LockWaits_Inicio
            END,
            LockTimeouts = CASE
                WHEN p_desde = m.ServidorDesde_Inicio AND p_timeouts >= m.LockTimeouts_Inicio
                    THEN p_timeouts - m.LockTimeouts_Inicio
            END,
            LockEscalations = CASE
                WHEN p_desde = m.ServidorDesde_Inicio AND p_escalations >= m.LockEscalations_Inicio
                    THEN p_escalations - m.LockEscalations_Inicio
            END,
            DuracionSegundos = d.Segundos,
            FondosPorHora = CASE
                WHEN d.Milisegundos >= 1000
                    THEN CAST(ROUND((p.FondosExitosos + p.FondosFallidos) * 3600000.0 / d.Milisegundos, 1)
                        AS DECIMAL(12, 1))
            END,
            Reintentos = (
                SELECT COALESCE(SUM(t.Intentos - 1), 0)
                FROM logs.Ejecucion_Etapas AS t
                JOIN logs.Ejecuciones AS e ON e.ID_Ejecucion = t.ID_Ejecucion
                WHERE e.ID_Proceso = p_proceso AND t.Intentos > 1
            )
        FROM logs.Procesos AS p
        CROSS JOIN LATERAL (
            SELECT
                CASE WHEN p.FechaFin >= p.FechaInicio
                    THEN CAST(FLOOR(EXTRACT(EPOCH FROM (p.FechaFin - p.FechaInicio))) AS INTEGER) END AS Segundos,
                CASE WHEN p.FechaFin >= p.FechaInicio
                    THEN CAST(FLOOR(EXTRACT(EPOCH FROM (p.FechaFin - p.FechaInicio)) * 1000) AS BIGINT)
                END AS Milisegundos
        ) AS d
        WHERE p.ID_Proceso = m.ID_Proceso AND m.ID_Proceso = p_proceso;
    END IF;

END
$$;

-- The operator's `fondos proceso cerrar` (026) runs it too, as the pipeline's cerrar_proceso does.
GRANT EXECUTE ON FUNCTION logs.sp_Registrar_Metricas_Proceso(
    BIGINT, VARCHAR, VARCHAR, BIGINT, BIGINT, BIGINT, BIGINT, TIMESTAMP
) TO fondos_operador;
