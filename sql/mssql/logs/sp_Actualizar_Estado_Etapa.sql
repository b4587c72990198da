-- logs.sp_Actualizar_Estado_Etapa
-- Records a stage's state for one ejecución (the plan's
-- ExecutionTracker.updateExecutionState) and recomputes the ejecución and its
-- proceso from the children (sp_Recalcular_Proceso).
-- Parameters: @ID_Ejecucion; @Etapa (IPA, CAPM, PNL, Derivados, UBS); @Estado
--   (EN_PROGRESO, OK, ERROR, OMITIDO, PENDIENTE); @Filas (rows written, with
--   OK); @Mensaje (error text, with ERROR).
-- EN_PROGRESO stamps FechaInicio and counts an attempt; OK/ERROR/OMITIDO
-- stamp FechaFin. Lock order: the proceso row first (UPDLOCK, HOLDLOCK), so
-- concurrent funds serialise on it briefly instead of deadlocking.
-- Returns the ejecución's and the proceso's new states.
CREATE OR ALTER PROCEDURE logs.sp_Actualizar_Estado_Etapa
    @ID_Ejecucion BIGINT,
    @Etapa VARCHAR(20),
    @Estado VARCHAR(20),
    @Filas INT = NULL,
    @Mensaje NVARCHAR(4000) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @ID_Proceso BIGINT;
    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);

    IF @Estado NOT IN ('PENDIENTE', 'EN_PROGRESO', 'OK', 'ERROR', 'OMITIDO')
        BEGIN
            SET @Msg = CONCAT(N'invalid stage state ', @Estado, N': use PENDIENTE, EN_PROGRESO, OK, ERROR or OMITIDO');
            THROW 50003, @Msg, 1;
        END;

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

        UPDATE t
        SET
            t.Estado = @Estado,
            t.FechaInicio = CASE WHEN @Estado = 'EN_PROGRESO' THEN SYSDATETIME() ELSE t.FechaInicio END,
            t.FechaFin = CASE WHEN @Estado IN ('OK', 'ERROR', 'OMITIDO') THEN SYSDATETIME() END,
            t.Intentos = t.Intentos + CASE WHEN @Estado = 'EN_PROGRESO' THEN 1 ELSE 0 END,
            t.Filas = CASE WHEN @Estado = 'OK' THEN @Filas END,
            t.Mensaje = CASE WHEN @Estado = 'ERROR' THEN LEFT(@Mensaje, 4000) END
        FROM logs.Ejecucion_Etapas AS t
        WHERE t.ID_Ejecucion = @ID_Ejecucion AND t.Etapa = @Etapa;

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

        EXEC logs.sp_Recalcular_Proceso @ID_Proceso = @ID_Proceso;

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
