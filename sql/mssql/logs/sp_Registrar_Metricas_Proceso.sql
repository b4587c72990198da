-- logs.sp_Registrar_Metricas_Proceso
-- Stores the plan's success metrics of one proceso (logs.Proceso_Metricas,
-- migration 022) from the server counters the pipeline read just before
-- (fondos.pipeline.metrics: sys.dm_os_performance_counters, server-wide).
--   @Momento 'INICIO' (crear_proceso): the counters as they are now. The
--     first snapshot wins: a retried or cleared crear_proceso keeps it.
--   @Momento 'FIN' (every close): each counter's delta since INICIO, the
--     proceso's duration (FechaFin - FechaInicio of logs.Procesos), funds per
--     hour ((OK + failed funds) per hour of that duration; NULL under one
--     second, which is no rate at all) and the stage retries (attempts beyond
--     the first, summed over the proceso's stages). DuracionSegundos is whole
--     seconds, truncated (599.9 s is 599, under 10 minutes, as on
--     PostgreSQL). A delta is NULL when either snapshot is missing, the
--     counters started counting at another time (@ServidorDesde: the
--     instance restarted in between; its performance counters restart with
--     it) or the counter went down: unknown, never a wrong number. Without an
--     INICIO row (a proceso created before 022) the row is created with NULL
--     deltas and the proceso's own start as its start.
-- Funds per hour: the funds (INT) times 3,600,000 in BIGINT, as
-- DECIMAL(28, 6), divided by the milliseconds as DECIMAL(19, 0). By the
-- DECIMAL rules that quotient needs precision 48, scale 26; SQL Server keeps
-- its 22 integer digits and cuts the scale to 16, far more than the one
-- decimal it is rounded to and cast into DECIMAL(12, 1). Under one second of
-- duration is NULL, so the rate never exceeds funds * 3,600 and fits
-- DECIMAL(12, 1) for any real number of funds.
-- Takes the proceso row lock (UPDLOCK, HOLDLOCK), as every lifecycle routine
-- does, so a close and a retried creation never write the row at once.
-- Refuses legacy history (logs.sp_Rechazar_Legado) and an unknown proceso.
-- Parameters: @ID_Proceso; @Momento ('INICIO' | 'FIN', compared exactly as on
-- PostgreSQL: binary, and trailing spaces refused); @Motor (this dialect: 'mssql'); @Deadlocks, @LockWaits,
-- @LockTimeouts, @LockEscalations (the cumulative counters, NULL when they
-- could not be read); @ServidorDesde (sys.dm_os_sys_info.sqlserver_start_time).
-- Returns nothing: read the row from logs.vw_Proceso_Metricas.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Registrar_Metricas_Proceso
    @ID_Proceso BIGINT,
    @Momento VARCHAR(200),
    @Motor VARCHAR(200),
    @Deadlocks BIGINT = NULL,
    @LockWaits BIGINT = NULL,
    @LockTimeouts BIGINT = NULL,
    @LockEscalations BIGINT = NULL,
    @ServidorDesde DATETIME2(3) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);

    -- Exact, as in PostgreSQL: BIN2 sees case; = and NOT IN ignore trailing spaces under every collation, binary
    -- ones too, so DATALENGTH compares the value with its RTRIM ('FIN ' and 'mssql ' are refused).
    IF
        @Momento IS NULL
        OR @Momento COLLATE Latin1_General_BIN2 NOT IN ('INICIO', 'FIN')
        OR DATALENGTH(@Momento) <> DATALENGTH(RTRIM(@Momento))
        BEGIN
            SET @Msg = CONCAT(N'Momento must be INICIO or FIN, not ', ISNULL(@Momento, 'NULL'));
            THROW 50050, @Msg, 1;
        END;
    IF
        @Motor IS NULL
        OR @Motor COLLATE Latin1_General_BIN2 <> 'mssql'
        OR DATALENGTH(@Motor) <> DATALENGTH(RTRIM(@Motor))
        BEGIN
            SET @Msg = CONCAT(N'Motor must be mssql on SQL Server, not ', ISNULL(@Motor, 'NULL'));
            THROW 50054, @Msg, 1;
        END;

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'recording the metrics of a proceso';

    BEGIN TRY
        BEGIN TRANSACTION;

        SELECT @Bloqueo = p.ID_Proceso
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;
        IF @Bloqueo IS NULL
            BEGIN
                SET @Msg = CONCAT(N'unknown ID_Proceso ', @ID_Proceso);
                THROW 50020, @Msg, 1;
            END;

        IF
            NOT EXISTS (
                SELECT 1 FROM logs.Proceso_Metricas AS m WITH (UPDLOCK, HOLDLOCK)
                WHERE m.ID_Proceso = @ID_Proceso
            )
            INSERT INTO logs.Proceso_Metricas (
                ID_Proceso, Motor, FechaInicioMedicion, Deadlocks_Inicio, LockWaits_Inicio, LockTimeouts_Inicio,
                LockEscalations_Inicio, ServidorDesde_Inicio
            )
            SELECT
                @ID_Proceso,
                'mssql',
                CASE WHEN @Momento = 'INICIO' THEN SYSDATETIME() ELSE p.FechaInicio END,
                CASE WHEN @Momento = 'INICIO' THEN @Deadlocks END,
                CASE WHEN @Momento = 'INICIO' THEN @LockWaits END,
                CASE WHEN @Momento = 'INICIO' THEN @LockTimeouts END,
                CASE WHEN @Momento = 'INICIO' THEN @LockEscalations END,
                CASE WHEN @Momento = 'INICIO' THEN @ServidorDesde END
            FROM logs.Procesos AS p
            WHERE p.ID_Proceso = @ID_Proceso;

        IF @Momento = 'FIN'
            UPDATE m
            SET
                m.FechaCierreMedicion = SYSDATETIME(),
                m.Deadlocks = CASE
                    WHEN @ServidorDesde = m.ServidorDesde_Inicio AND @Deadlocks >= m.Deadlocks_Inicio
                        THEN @Deadlocks - m.Deadlocks_Inicio
                END,
                m.LockWaits = CASE
                    WHEN @ServidorDesde = m.ServidorDesde_Inicio AND @LockWaits >= m.LockWaits_Inicio
                        THEN @LockWaits - m.LockWaits_Inicio
                END,
                m.LockTimeouts = CASE
                    WHEN @ServidorDesde = m.ServidorDesde_Inicio AND @LockTimeouts >= m.LockTimeouts_Inicio
                        THEN @LockTimeouts - m.LockTimeouts_Inicio
                END,
                m.LockEscalations = CASE
                    WHEN @ServidorDesde = m.ServidorDesde_Inicio AND @LockEscalations >= m.LockEscalations_Inicio
                        THEN @LockEscalations - m.LockEscalations_Inicio
                END,
                m.DuracionSegundos = CAST(d.Milisegundos / 1000 AS INT),
                m.FondosPorHora = CASE
                    WHEN d.Milisegundos >= 1000
                        THEN CAST(
                            ROUND(
                                CAST(CAST(p.FondosExitosos + p.FondosFallidos AS BIGINT) * 3600000 AS DECIMAL(28, 6))
                                / CAST(d.Milisegundos AS DECIMAL(19, 0)),
                                1
                            ) AS DECIMAL(12, 1)
                        )
                END,
                m.Reintentos = r.Reintentos
            FROM logs.Proceso_Metricas AS m
            INNER JOIN logs.Procesos AS p ON m.ID_Proceso = p.ID_Proceso
            CROSS APPLY (
                VALUES (
                    CASE WHEN p.FechaFin >= p.FechaInicio THEN DATEDIFF_BIG(MILLISECOND, p.FechaInicio, p.FechaFin) END
                )
            ) AS d(Milisegundos)
            CROSS APPLY (
                SELECT ISNULL(SUM(t.Intentos - 1), 0) AS Reintentos
                FROM logs.Ejecucion_Etapas AS t
                INNER JOIN logs.Ejecuciones AS e ON t.ID_Ejecucion = e.ID_Ejecucion
                WHERE e.ID_Proceso = @ID_Proceso AND t.Intentos > 1
            ) AS r
            WHERE m.ID_Proceso = @ID_Proceso;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
END;
GO

-- The operator's `fondos proceso cerrar` (026) runs it too, as the pipeline's cerrar_proceso does.
GRANT EXECUTE ON logs.sp_Registrar_Metricas_Proceso TO fondos_operador;
GO
