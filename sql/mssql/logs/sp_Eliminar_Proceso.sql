-- logs.sp_Eliminar_Proceso
-- Deletes a whole proceso: the extract/staging rows of each of its
-- ejecuciones, then the proceso, whose ejecuciones, fund rows and stage rows
-- go by ON DELETE CASCADE. Nothing of any other proceso is touched.
-- Refuses legacy history (logs.sp_Rechazar_Legado), and a signed-off proceso (50081, 030).
-- Locks, in the PostgreSQL twin's order: an ejecución's five stage locks
-- (logs.sp_Bloquear_Ejecucion: IPA, CAPM, Derivados, UBS, PNL, the same app
-- locks every stage step takes), ejecuciones in ascending ID_Ejecucion, and
-- only then the proceso row (UPDLOCK, HOLDLOCK), as logs.sp_Revertir_Ejecucion
-- does, so the two never deadlock and a step still running finishes first.
-- Under those locks it re-checks the proceso (50022 if it is gone) and its
-- stage states (50048 on any EN_PROGRESO or REINTENTANDO): every writer of a
-- stage state takes the proceso row lock first, so no attempt can start
-- between that check and the deletes of the same transaction.
-- Transactions: one per ejecución, then a last one. The PostgreSQL twin runs
-- as one function, one transaction. Here a whole proceso in one transaction
-- would hold the row locks of every fund's rows at once: the batched deletes
-- (DELETE TOP (4,000), below the 5,000-lock escalation threshold, in
-- logs.sp_Borrar_Filas_Ejecucion) keep each statement small, but locks are
-- held to the end of the transaction, and with LOCK_ESCALATION = DISABLE on
-- extract/staging (017) 50 funds x 19 tables x thousands of rows (two key
-- locks per row since 019) run out of lock memory (error 1204) instead of
-- escalating; the log could not be truncated past it either. So:
--   1. per ejecución, in ascending ID_Ejecucion, one transaction: its stage
--      locks, the proceso row lock, the re-checks, the delete of its
--      extract/staging rows; COMMIT releases them. Each holds one fund's row
--      locks, as a stage step does.
--   2. a last transaction: every ejecución's stage locks (ascending id, fixed
--      stage order), the proceso row lock, the re-checks, a second delete of
--      every ejecución's rows (normally none: 19 index seeks each; it removes
--      whatever a step committed between the transactions of 1, which would
--      otherwise be orphaned by the cascade), and DELETE FROM logs.Procesos,
--      under all those locks. A step waiting for a stage lock then finds its
--      ejecución gone (logs.sp_Validar_Ejecucion, 50001) and writes nothing.
-- If the call stops part-way (a refusal in a later transaction, a deadlock,
-- a lost connection), the ejecuciones already emptied stay empty and the
-- proceso stays: calling it again finishes the job.
-- Errors: 50022 unknown ID_Proceso; 50040 legacy history; 50043 (or 50046,
-- deadlock victim) a stage lock not granted in 300 s; 50048 a stage
-- EN_PROGRESO or REINTENTANDO (nothing deleted, unless an attempt started
-- after earlier ejecuciones were emptied: then the message says how many).
-- Parameters: @ID_Proceso. Returns Filas, the extract/staging rows deleted.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Eliminar_Proceso
    @ID_Proceso BIGINT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @ID_Ejecucion BIGINT;
    DECLARE @Siguiente BIGINT;
    DECLARE @Bloquear BIGINT;
    DECLARE @Bloqueo BIGINT;
    DECLARE @Abiertas INT;
    DECLARE @Vaciadas INT = 0;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Borradas TABLE (Filas INT NOT NULL);

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'eliminar (delete a proceso)';

    -- Fails fast on an unknown id; checked again under the lock in every transaction.
    IF
        NOT EXISTS (
            SELECT 1 FROM logs.Procesos AS p
            WHERE p.ID_Proceso = @ID_Proceso
        )
        BEGIN
            SET @Msg = CONCAT(N'unknown ID_Proceso ', @ID_Proceso);
            THROW 50022, @Msg, 1;
        END;

    -- A signed-off proceso is kept (030): fails fast here; checked again under the lock in every transaction,
    -- before any row of it is deleted (a sign-off may commit between the transactions).
    IF
        EXISTS (
            SELECT 1 FROM logs.Proceso_Firmas AS g
            WHERE g.ID_Proceso = @ID_Proceso
        )
        BEGIN
            SET @Msg = CONCAT(
                N'eliminar refused: proceso ', @ID_Proceso, N' is signed off (logs.Proceso_Firmas): its decisions ',
                N'and the figures they published are kept, nothing was changed'
            );
            THROW 50081, @Msg, 1;
        END;

    BEGIN TRY
        SELECT @Siguiente = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
        WHERE e.ID_Proceso = @ID_Proceso;

        -- One transaction per iteration: the ejecución @ID_Ejecucion's (1 in the header), then, with
        -- @ID_Ejecucion NULL, the last one (2).
        WHILE 1 = 1
            BEGIN
                SET @ID_Ejecucion = @Siguiente;
                BEGIN TRANSACTION;

                -- The stage locks first: this ejecución's, or in the last transaction every ejecución's,
                -- in ascending ID_Ejecucion, each in the fixed stage order.
                SET @Bloquear = @ID_Ejecucion;
                IF @Bloquear IS NULL
                    SELECT @Bloquear = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
                    WHERE e.ID_Proceso = @ID_Proceso;
                WHILE @Bloquear IS NOT NULL
                    BEGIN
                        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @Bloquear, @Etapa = 'IPA';
                        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @Bloquear, @Etapa = 'CAPM';
                        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @Bloquear, @Etapa = 'Derivados';
                        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @Bloquear, @Etapa = 'UBS';
                        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @Bloquear, @Etapa = 'PNL';
                        IF @ID_Ejecucion IS NOT NULL
                            SET @Bloquear = NULL;
                        ELSE
                            SELECT @Bloquear = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
                            WHERE e.ID_Proceso = @ID_Proceso AND e.ID_Ejecucion > @Bloquear;
                    END;

                -- Then the proceso row, which every writer of a stage state takes first.
                SET @Bloqueo = NULL;
                SELECT @Bloqueo = p.ID_Proceso
                FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
                WHERE p.ID_Proceso = @ID_Proceso;
                IF @Bloqueo IS NULL
                    BEGIN
                        SET @Msg = CONCAT(N'unknown ID_Proceso ', @ID_Proceso);
                        THROW 50022, @Msg, 1;
                    END;

                -- Re-checked under the proceso row lock, so no attempt can start before this transaction
                -- commits. READCOMMITTEDLOCK reads the latest committed rows, not row versions
                -- (READ_COMMITTED_SNAPSHOT), and keeps no lock on them.
                SELECT @Abiertas = COUNT(*)
                FROM logs.Ejecucion_Etapas AS t WITH (READCOMMITTEDLOCK)
                INNER JOIN logs.Ejecuciones AS e WITH (READCOMMITTEDLOCK) ON t.ID_Ejecucion = e.ID_Ejecucion
                WHERE e.ID_Proceso = @ID_Proceso AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO');
                IF @Abiertas > 0
                    BEGIN
                        SET @Msg = CONCAT(
                            N'eliminar refused: proceso ', @ID_Proceso, N' has ', @Abiertas,
                            N' stage(s) EN_PROGRESO or REINTENTANDO (an attempt is running or was killed): ',
                            CASE
                                WHEN @Vaciadas = 0 THEN N'nothing was changed. '
                                ELSE CONCAT(
                                    N'the extract/staging rows of ', @Vaciadas, N' of its ejecuciones were deleted ',
                                    N'by this call before the attempt started; nothing else was changed. '
                                )
                            END,
                            N'Wait for the run to end, or close it (fondos proceso cerrar --id ', @ID_Proceso,
                            N'), then delete.'
                        );
                        THROW 50048, @Msg, 1;
                    END;

                IF
                    EXISTS (
                        SELECT 1 FROM logs.Proceso_Firmas AS g WITH (READCOMMITTEDLOCK)
                        WHERE g.ID_Proceso = @ID_Proceso
                    )
                    BEGIN
                        SET @Msg = CONCAT(
                            N'eliminar refused: proceso ', @ID_Proceso, N' is signed off (logs.Proceso_Firmas): ',
                            CASE
                                WHEN @Vaciadas = 0 THEN N'nothing was changed'
                                ELSE CONCAT(
                                    N'the extract/staging rows of ', @Vaciadas, N' of its ejecuciones were deleted ',
                                    N'by this call before it was signed off; its records are kept'
                                )
                            END
                        );
                        THROW 50081, @Msg, 1;
                    END;

                IF @ID_Ejecucion IS NOT NULL
                    BEGIN
                        INSERT INTO @Borradas (Filas)
                        EXEC logs.sp_Borrar_Filas_Ejecucion @ID_Ejecucion = @ID_Ejecucion;
                    END;
                ELSE
                    BEGIN
                        -- Every ejecución again (rows a step committed between the transactions; its stage
                        -- locks are held already), then the proceso, last, under its lock: the cascade takes
                        -- the ejecuciones, fund and stage rows.
                        SELECT @Bloquear = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
                        WHERE e.ID_Proceso = @ID_Proceso;
                        WHILE @Bloquear IS NOT NULL
                            BEGIN
                                INSERT INTO @Borradas (Filas)
                                EXEC logs.sp_Borrar_Filas_Ejecucion @ID_Ejecucion = @Bloquear;
                                SELECT @Bloquear = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
                                WHERE e.ID_Proceso = @ID_Proceso AND e.ID_Ejecucion > @Bloquear;
                            END;

                        DELETE FROM logs.Procesos
                        WHERE ID_Proceso = @ID_Proceso;
                    END;

                COMMIT TRANSACTION;

                IF @ID_Ejecucion IS NULL
                    BREAK;
                SET @Vaciadas += 1;
                SELECT @Siguiente = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
                WHERE e.ID_Proceso = @ID_Proceso AND e.ID_Ejecucion > @ID_Ejecucion;
            END;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT ISNULL(SUM(b.Filas), 0) AS Filas FROM @Borradas AS b;
END;
GO

-- An operator's command (026): fondos_operador may run it, the pipeline's tasks may not (no task deletes
-- or reverts; a retried fund replaces its own rows). The DENY wins over 018's schema-wide GRANT.
DENY EXECUTE ON logs.sp_Eliminar_Proceso TO fondos_pipeline;
GRANT EXECUTE ON logs.sp_Eliminar_Proceso TO fondos_operador;
GO
