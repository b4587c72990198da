-- logs.sp_Revertir_Ejecucion
-- Rolls back ONE fund of a proceso (plan: "Rollback por fondo"): deletes all
-- its extract/staging rows, sets its applicable stages back to PENDIENTE, and
-- recomputes the proceso, in one transaction. No other fund's rows or states
-- are touched.
-- Refuses legacy history (logs.sp_Rechazar_Legado): a legacy ID_Ejecucion is
-- shared by every fund of its run.
-- Lock order, all inside the transaction: first the five stage locks of the
-- ejecución (logs.sp_Bloquear_Ejecucion, in the fixed order IPA, CAPM,
-- Derivados, UBS, PNL, the order of sp_Borrar_Filas_Ejecucion, which takes
-- them again at no cost), so a step still running finishes first; only then
-- the proceso row (UPDLOCK, HOLDLOCK), so a revert waiting for a running step
-- does not hold the proceso row meanwhile and stall every other fund's state
-- updates. A stage lock not granted in 300 s raises 50043 (nothing changed).
-- Once it holds them it checks again that the ejecución exists (a proceso
-- deletion may have committed while it waited: 50021, nothing changed), and
-- refuses an ejecución with a stage EN_PROGRESO or
-- REINTENTANDO (50047): an attempt is running, or was killed without recording
-- an outcome; its task must end, or the proceso be closed, first.
-- Errors: 50021 unknown ID_Ejecucion; 50040 legacy history; 50043 (or 50046,
-- deadlock victim) a stage lock not granted; 50047 a stage EN_PROGRESO or
-- REINTENTANDO. Each leaves everything as it was.
-- Parameters: @ID_Ejecucion. Returns Filas, the rows deleted.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Revertir_Ejecucion
    @ID_Ejecucion BIGINT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @ID_Proceso BIGINT;
    DECLARE @Bloqueo BIGINT;
    DECLARE @Etapa VARCHAR(20);
    DECLARE @Estado VARCHAR(20);
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Borradas TABLE (Filas INT NOT NULL);

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = NULL, @ID_Ejecucion = @ID_Ejecucion, @Accion = N'revertir (roll back one fund)';

    SELECT @ID_Proceso = e.ID_Proceso FROM logs.Ejecuciones AS e
    WHERE e.ID_Ejecucion = @ID_Ejecucion;
    IF @ID_Proceso IS NULL
        BEGIN
            SET @Msg = CONCAT(N'unknown ID_Ejecucion ', @ID_Ejecucion);
            THROW 50021, @Msg, 1;
        END;

    BEGIN TRY
        BEGIN TRANSACTION;

        -- The stage locks first, in the fixed order; the proceso row only once they are held.
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'CAPM';
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'UBS';
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'PNL';

        SELECT @Bloqueo = p.ID_Proceso
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;
        -- Re-checked under the lock: the proceso (and so this ejecución) may have been deleted while this
        -- call waited for the stage locks.
        IF @Bloqueo IS NULL
            BEGIN
                SET @Msg = CONCAT(N'unknown ID_Ejecucion ', @ID_Ejecucion);
                THROW 50021, @Msg, 1;
            END;

        -- Read under the proceso row lock, which every stage state update takes first, so no attempt can
        -- start or end between this check and the updates below. UPDLOCK makes it read the latest committed
        -- rows, not row versions (READ_COMMITTED_SNAPSHOT).
        SELECT TOP (1)
            @Etapa = t.Etapa,
            @Estado = t.Estado
        FROM logs.Ejecucion_Etapas AS t WITH (UPDLOCK)
        WHERE t.ID_Ejecucion = @ID_Ejecucion AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO')
        ORDER BY CASE t.Etapa WHEN 'IPA' THEN 1 WHEN 'CAPM' THEN 2 WHEN 'Derivados' THEN 3 WHEN 'UBS' THEN 4 ELSE 5 END;
        IF @Etapa IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'revertir refused: stage ', @Etapa, N' of ID_Ejecucion ', @ID_Ejecucion, N' is ', @Estado,
                    N' (an attempt is running or was killed): nothing was changed. Wait for it to end, or close the ',
                    N'proceso (fondos proceso cerrar --id ', @ID_Proceso, N') if its task died, then revert.'
                );
                THROW 50047, @Msg, 1;
            END;

        INSERT INTO @Borradas (Filas)
        EXEC logs.sp_Borrar_Filas_Ejecucion @ID_Ejecucion = @ID_Ejecucion;

        UPDATE t
        SET
            t.Estado = 'PENDIENTE',
            t.FechaInicio = NULL,
            t.FechaFin = NULL,
            t.Filas = NULL,
            t.Mensaje = NULL
        FROM logs.Ejecucion_Etapas AS t
        WHERE t.ID_Ejecucion = @ID_Ejecucion AND t.Estado <> 'OMITIDO';

        UPDATE f
        SET
            f.Estado_Process_IPA = CASE WHEN f.Estado_Process_IPA = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
            f.Estado_Process_CAPM = CASE WHEN f.Estado_Process_CAPM = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
            f.Estado_Process_PNL = CASE WHEN f.Estado_Process_PNL = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END,
            f.Estado_Process_Derivados = CASE
                WHEN f.Estado_Process_Derivados = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE'
            END,
            f.Estado_Process_UBS = CASE WHEN f.Estado_Process_UBS = 'OMITIDO' THEN 'OMITIDO' ELSE 'PENDIENTE' END
        FROM logs.Ejecucion_Fondos AS f
        WHERE f.ID_Ejecucion = @ID_Ejecucion;

        EXEC logs.sp_Recalcular_Proceso @ID_Proceso = @ID_Proceso;

        COMMIT TRANSACTION;
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
DENY EXECUTE ON logs.sp_Revertir_Ejecucion TO fondos_pipeline;
GRANT EXECUTE ON logs.sp_Revertir_Ejecucion TO fondos_operador;
GO
