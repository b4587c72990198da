-- logs.sp_Eliminar_Proceso
-- Deletes a whole proceso: the extract/staging rows of each of its
-- ejecuciones, then the proceso, whose ejecuciones, fund rows and stage rows
-- go by ON DELETE CASCADE. Nothing of any other proceso is touched.
-- Refuses legacy history (logs.sp_Rechazar_Legado).
-- Each ejecución's rows are deleted in a transaction of their own (a large
-- proceso must not hold one huge transaction and log); if the call is
-- interrupted, calling it again finishes the job.
-- Refuses, before deleting anything, a proceso with any stage EN_PROGRESO or
-- REINTENTANDO in any of its ejecuciones (50048): an attempt is running, or
-- was killed without recording an outcome; the run must end, or the proceso
-- be closed (fondos proceso cerrar), first. The check reads committed states
-- once, outside the per-ejecución transactions; an attempt that starts after
-- it still meets the stage locks of logs.sp_Borrar_Filas_Ejecucion.
-- Errors: 50022 unknown ID_Proceso; 50040 legacy history; 50048 a stage
-- EN_PROGRESO or REINTENTANDO (nothing deleted).
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
    DECLARE @Abiertas INT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Borradas TABLE (Filas INT NOT NULL);

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'eliminar (delete a proceso)';

    IF
        NOT EXISTS (
            SELECT 1 FROM logs.Procesos AS p
            WHERE p.ID_Proceso = @ID_Proceso
        )
        BEGIN
            SET @Msg = CONCAT(N'unknown ID_Proceso ', @ID_Proceso);
            THROW 50022, @Msg, 1;
        END;

    SELECT @Abiertas = COUNT(*)
    FROM logs.Ejecucion_Etapas AS t
    INNER JOIN logs.Ejecuciones AS e ON t.ID_Ejecucion = e.ID_Ejecucion
    WHERE e.ID_Proceso = @ID_Proceso AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO');
    IF @Abiertas > 0
        BEGIN
            SET @Msg = CONCAT(
                N'eliminar refused: proceso ', @ID_Proceso, N' has ', @Abiertas,
                N' stage(s) EN_PROGRESO or REINTENTANDO (an attempt is running or was killed): nothing was changed. ',
                N'Wait for the run to end, or close it (fondos proceso cerrar --id ', @ID_Proceso, N'), then delete.'
            );
            THROW 50048, @Msg, 1;
        END;

    BEGIN TRY
        SELECT @ID_Ejecucion = MIN(e.ID_Ejecucion) FROM logs.Ejecuciones AS e
        WHERE e.ID_Proceso = @ID_Proceso;
        WHILE @ID_Ejecucion IS NOT NULL
            BEGIN
                BEGIN TRANSACTION;
                INSERT INTO @Borradas (Filas)
                EXEC logs.sp_Borrar_Filas_Ejecucion @ID_Ejecucion = @ID_Ejecucion;
                COMMIT TRANSACTION;
                SELECT @ID_Ejecucion = MIN(e.ID_Ejecucion)
                FROM logs.Ejecuciones AS e
                WHERE e.ID_Proceso = @ID_Proceso AND e.ID_Ejecucion > @ID_Ejecucion;
            END;

        BEGIN TRANSACTION;
        DELETE FROM logs.Procesos
        WHERE ID_Proceso = @ID_Proceso;
        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT ISNULL(SUM(b.Filas), 0) AS Filas FROM @Borradas AS b;
END;
GO
