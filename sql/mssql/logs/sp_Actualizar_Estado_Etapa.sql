-- logs.sp_Actualizar_Estado_Etapa
-- Records a stage's state for one ejecución (the plan's
-- ExecutionTracker.updateExecutionState) and recomputes the ejecución and its
-- proceso from the children (sp_Recalcular_Proceso).
-- Parameters: @ID_Ejecucion; @Etapa (IPA, CAPM, PNL, Derivados, UBS); @Estado
--   (EN_PROGRESO, REINTENTANDO, OK, ERROR, OMITIDO, PENDIENTE); @Filas (rows
--   written, with OK); @Mensaje (error text, with ERROR and REINTENTANDO).
-- EN_PROGRESO stamps FechaInicio and counts an attempt; OK/ERROR/OMITIDO
-- stamp FechaFin. An attempt that starts while the stage is still
-- EN_PROGRESO records, in Mensaje, that the earlier attempt was interrupted
-- (its task was killed or lost: Airflow runs no callback for a SIGKILL); one
-- that starts after REINTENTANDO or ERROR records what it retries after. OK
-- keeps that note; ERROR and REINTENTANDO carry their own message. Lock order: the proceso row first (UPDLOCK, HOLDLOCK), so
-- concurrent funds serialise on it briefly instead of deadlocking. Under it
-- the proceso must still exist (deleted meanwhile: 50004, nothing changed).
-- OK is recorded only over EN_PROGRESO: an attempt whose fund was reverted or
-- whose proceso was closed while it ran does not overwrite that (50049,
-- nothing changed). The current state is read under the proceso row lock,
-- with UPDLOCK on the stage row (the latest committed row, not a row version).
-- An @Etapa the ejecución does not have still gets 50005.
-- The proceso's figures are recomputed from all its ejecuciones (sp_Recalcular_Proceso)
-- only when this ejecución's derived Estado or FechaFin differs from the stored
-- one (its end, a retry after ERROR, a later stage ending in a fund already in
-- ERROR): otherwise the recount would change nothing. Sound because every
-- other writer of stage rows (sp_Inicializar_Proceso, sp_Revertir_Ejecucion,
-- sp_Actualizar_Estadisticas_Proceso) ends with a full recount under the
-- proceso row lock. Recomputing on every call made each stage update O(funds)
-- under that lock, so the cost per fund grew with the number of funds.
-- Refuses legacy history (logs.sp_Rechazar_Legado).
-- Errors: 50003 invalid @Estado; 50004 unknown ID_Ejecucion; 50005 no such
-- stage; 50040 legacy history; 50049 OK over a stage not EN_PROGRESO.
-- @Intento (027): the attempt's token, sent with its EN_PROGRESO and its outcome. A call whose token and
-- state are already the stage's is this attempt's own resend after a lost connection: it changes
-- nothing (no second attempt counted, no "interrupted" note, no 50049 for an OK already recorded).
-- Returns the ejecución's and the proceso's new states.
-- SQL Server: @Estado is checked exactly, as in PostgreSQL: case-sensitively
-- (a binary collation) and trailing-space-sensitively (DATALENGTH: = and IN
-- ignore trailing spaces under every collation, binary ones too), so a state
-- is stored in its one spelling whatever the database collation ('ok' and
-- 'OK ' are refused). @Etapa is matched to the stage row the same way, so
-- 'ipa' or 'IPA ' finds no stage (50005), as in PostgreSQL. The CASEs below
-- then compare exact spellings only: @Estado is one of the six, @Etapa equals
-- a stage row's Etapa byte for byte, and t.Estado was written by these
-- procedures from literals or from a checked @Estado (legacy rows are
-- refused above). Times in Mensaje are CONVERT style 120 (yyyy-mm-dd
-- hh:mi:ss), and one SYSDATETIME() read serves the row's times and its message.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Actualizar_Estado_Etapa
    @ID_Ejecucion BIGINT,
    @Etapa VARCHAR(20),
    @Estado VARCHAR(20),
    @Filas INT = NULL,
    @Mensaje NVARCHAR(4000) = NULL,
    @Intento VARCHAR(64) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @ID_Proceso BIGINT;
    DECLARE @Bloqueo BIGINT;
    DECLARE @Ahora DATETIME2(3);
    DECLARE @Actual VARCHAR(20);
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @EstadoEjecucion VARCHAR(50);
    DECLARE @FinEjecucion DATETIME2(3);
    DECLARE @Reenvio BIT = 0;

    -- Exact, as in PostgreSQL: BIN2 sees case; NOT IN ignores trailing spaces under every collation, so
    -- DATALENGTH compares the value with its RTRIM.
    IF
        @Estado IS NULL
        OR @Estado COLLATE Latin1_General_100_BIN2 NOT IN ('PENDIENTE', 'EN_PROGRESO', 'REINTENTANDO', 'OK', 'ERROR', 'OMITIDO')
        OR DATALENGTH(@Estado) <> DATALENGTH(RTRIM(@Estado))
        BEGIN
            SET @Msg = CONCAT(
                N'invalid stage state ', @Estado, N': use PENDIENTE, EN_PROGRESO, REINTENTANDO, OK, ERROR or OMITIDO'
            );
            THROW 50003, @Msg, 1;
        END;

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = NULL, @ID_Ejecucion = @ID_Ejecucion, @Accion = N'recording a stage state';

    SELECT @ID_Proceso = e.ID_Proceso FROM logs.Ejecuciones AS e
    WHERE e.ID_Ejecucion = @ID_Ejecucion;
    IF @ID_Proceso IS NULL
        BEGIN
            SET @Msg = CONCAT(N'unknown ID_Ejecucion ', @ID_Ejecucion);
            THROW 50004, @Msg, 1;
        END;

    BEGIN TRY
        BEGIN TRANSACTION;

        SELECT @Bloqueo = p.ID_Proceso
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;
        -- Re-checked under the lock: the proceso may have been deleted since @ID_Proceso was read.
        IF @Bloqueo IS NULL
            BEGIN
                SET @Msg = CONCAT(N'unknown ID_Ejecucion ', @ID_Ejecucion);
                THROW 50004, @Msg, 1;
            END;

        -- This attempt's own call again (its connection was lost after the call committed): nothing to change.
        -- Exact, as in PostgreSQL (BIN2 and DATALENGTH, see the header).
        IF
            @Intento IS NOT NULL
            AND EXISTS (
                SELECT 1
                FROM logs.Ejecucion_Etapas AS t WITH (UPDLOCK)
                WHERE
                    t.ID_Ejecucion = @ID_Ejecucion
                    AND t.Etapa = @Etapa COLLATE Latin1_General_100_BIN2
                    AND DATALENGTH(t.Etapa) = DATALENGTH(@Etapa)
                    AND t.TokenIntento = @Intento COLLATE Latin1_General_100_BIN2
                    AND DATALENGTH(t.TokenIntento) = DATALENGTH(@Intento)
                    AND t.Estado = @Estado COLLATE Latin1_General_100_BIN2
            )
            SET @Reenvio = 1;

        IF @Reenvio = 0
            BEGIN
                IF @Estado = 'OK'
                    BEGIN
                        -- Under the proceso row lock taken above; UPDLOCK reads the latest committed row.
                        SELECT @Actual = t.Estado
                        FROM logs.Ejecucion_Etapas AS t WITH (UPDLOCK)
                        WHERE
                            t.ID_Ejecucion = @ID_Ejecucion
                            AND t.Etapa = @Etapa COLLATE Latin1_General_100_BIN2
                            AND DATALENGTH(t.Etapa) = DATALENGTH(@Etapa);
                        -- no row: the UPDATE below finds none either and raises 50005
                        IF @Actual <> 'EN_PROGRESO'
                            BEGIN
                                SET @Msg = CONCAT(
                                    N'stage ', @Etapa, N' of ID_Ejecucion ', @ID_Ejecucion, N' is ', @Actual,
                                    N', not EN_PROGRESO: this attempt''s OK is not recorded (the fund was reverted or the ',
                                    N'proceso closed while it ran); run the stage again'
                                );
                                THROW 50049, @Msg, 1;
                            END;
                    END;

                -- Every t.* on the right-hand side is the row before this UPDATE (T-SQL evaluates SET from the old row).
                SET @Ahora = SYSDATETIME();
                UPDATE t
                SET
                    t.Estado = @Estado,
                    t.FechaInicio = CASE WHEN @Estado = 'EN_PROGRESO' THEN @Ahora ELSE t.FechaInicio END,
                    t.FechaFin = CASE WHEN @Estado IN ('OK', 'ERROR', 'OMITIDO') THEN @Ahora END,
                    t.Intentos = t.Intentos + CASE WHEN @Estado = 'EN_PROGRESO' THEN 1 ELSE 0 END,
                    t.TokenIntento = CASE WHEN @Estado = 'EN_PROGRESO' THEN @Intento ELSE t.TokenIntento END,
                    t.Filas = CASE WHEN @Estado = 'OK' THEN @Filas END,
                    t.Mensaje = LEFT(
                        CASE
                            WHEN @Estado IN ('ERROR', 'REINTENTANDO') THEN CAST(@Mensaje AS NVARCHAR(MAX))
                            WHEN @Estado = 'OK' THEN CAST(t.Mensaje AS NVARCHAR(MAX))
                            WHEN @Estado = 'EN_PROGRESO' AND t.Estado = 'EN_PROGRESO'
                                THEN CONCAT(
                                    CAST(N'attempt ' AS NVARCHAR(MAX)), t.Intentos, N' was interrupted: it started at ',
                                    CONVERT(VARCHAR(19), t.FechaInicio, 120),
                                    N' and never recorded an outcome (task killed, worker lost or timed out); attempt ',
                                    t.Intentos + 1, N' started at ', CONVERT(VARCHAR(19), @Ahora, 120)
                                )
                            WHEN @Estado = 'EN_PROGRESO' AND t.Estado IN ('REINTENTANDO', 'ERROR')
                                THEN CONCAT(CAST(N'attempt ' AS NVARCHAR(MAX)), t.Intentos + 1, N', after: ', t.Mensaje)
                        END,
                        4000
                    )
                FROM logs.Ejecucion_Etapas AS t
                WHERE
                    t.ID_Ejecucion = @ID_Ejecucion
                    -- exact (see the header): BIN2 for case, DATALENGTH for trailing spaces; still a seek on ID_Ejecucion
                    AND t.Etapa = @Etapa COLLATE Latin1_General_100_BIN2
                    AND DATALENGTH(t.Etapa) = DATALENGTH(@Etapa);

                IF @@ROWCOUNT = 0
                    BEGIN
                        SET @Msg = CONCAT(
                            N'ID_Ejecucion ', @ID_Ejecucion, N' has no stage ', @Etapa,
                            N' (stages: IPA, CAPM, PNL, Derivados, UBS)'
                        );
                        THROW 50005, @Msg, 1;
                    END;

                UPDATE f
                SET
                    f.Estado_Process_IPA = CASE WHEN @Etapa = 'IPA' THEN @Estado ELSE f.Estado_Process_IPA END,
                    f.Estado_Process_CAPM = CASE WHEN @Etapa = 'CAPM' THEN @Estado ELSE f.Estado_Process_CAPM END,
                    f.Estado_Process_PNL = CASE WHEN @Etapa = 'PNL' THEN @Estado ELSE f.Estado_Process_PNL END,
                    f.Estado_Process_Derivados = CASE
                        WHEN @Etapa = 'Derivados' THEN @Estado ELSE f.Estado_Process_Derivados
                    END,
                    f.Estado_Process_UBS = CASE WHEN @Etapa = 'UBS' THEN @Estado ELSE f.Estado_Process_UBS END
                FROM logs.Ejecucion_Fondos AS f
                WHERE f.ID_Ejecucion = @ID_Ejecucion;

                -- This ejecución's state from its stages, exactly as sp_Recalcular_Proceso derives it; the
                -- proceso's figures can change only when it does (see the header).
                SELECT
                    @EstadoEjecucion = CASE
                        WHEN MAX(CASE WHEN t.Estado = 'ERROR' THEN 1 ELSE 0 END) = 1 THEN 'ERROR'
                        WHEN MIN(CASE WHEN t.Estado IN ('OK', 'OMITIDO') THEN 1 ELSE 0 END) = 1 THEN 'OK'
                        ELSE 'EN_PROGRESO'
                    END,
                    @FinEjecucion = MAX(t.FechaFin)
                FROM logs.Ejecucion_Etapas AS t
                WHERE t.ID_Ejecucion = @ID_Ejecucion;
                IF @EstadoEjecucion = 'EN_PROGRESO' SET @FinEjecucion = NULL;

                IF
                    EXISTS (
                        SELECT 1
                        FROM logs.Ejecuciones AS e
                        WHERE
                            e.ID_Ejecucion = @ID_Ejecucion
                            AND (
                                e.Estado COLLATE Latin1_General_BIN2 <> @EstadoEjecucion
                                OR e.FechaFin <> @FinEjecucion
                                OR (e.FechaFin IS NULL AND @FinEjecucion IS NOT NULL)
                                OR (e.FechaFin IS NOT NULL AND @FinEjecucion IS NULL)
                            )
                    )
                    EXEC logs.sp_Recalcular_Proceso @ID_Proceso = @ID_Proceso;

            END;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        e.Estado AS Estado_Ejecucion,
        p.Estado AS Estado_Proceso
    FROM logs.Ejecuciones AS e
    INNER JOIN logs.Procesos AS p ON e.ID_Proceso = p.ID_Proceso
    WHERE e.ID_Ejecucion = @ID_Ejecucion;
END;
GO

-- The operator's `fondos proceso cerrar` (026) runs it too, as the pipeline's cerrar_proceso does.
GRANT EXECUTE ON logs.sp_Actualizar_Estado_Etapa TO fondos_operador;
GO
