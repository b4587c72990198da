-- logs.sp_Revertir_Ejecucion
-- Rolls back ONE fund of a proceso (plan: "Rollback por fondo"): deletes all
-- its extract/staging rows, sets its applicable stages back to PENDIENTE, and
-- recomputes the proceso, in one transaction. No other fund's rows or states
-- are touched.
-- Refuses legacy history (logs.sp_Rechazar_Legado): a legacy ID_Ejecucion is
-- shared by every fund of its run.
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

        SELECT @Bloqueo = p.ID_Proceso
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;

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
