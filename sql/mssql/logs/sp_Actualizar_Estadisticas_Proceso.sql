-- logs.sp_Actualizar_Estadisticas_Proceso
-- The final task's call: recomputes the proceso's figures from its children
-- and returns them. With @Cerrar = 1 it also closes the proceso: a fund that
-- has no failed stage but still has stages EN_PROGRESO or PENDIENTE (its task
-- was killed before it could record anything) gets those stages marked ERROR,
-- so the proceso ends OK or ERROR, never stuck EN_PROGRESO. Stages left
-- PENDIENTE behind a failed stage stay PENDIENTE: they never ran.
-- Parameters: @ID_Proceso; @Cerrar (0 = recompute only, 1 = close).
-- Returns one row: FechaReporte, Estado, TotalFondos, FondosExitosos,
-- FondosFallidos, FechaInicio, FechaFin.
CREATE OR ALTER PROCEDURE logs.sp_Actualizar_Estadisticas_Proceso
    @ID_Proceso BIGINT,
    @Cerrar BIT = 0
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);

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

        IF @Cerrar = 1
            BEGIN
                UPDATE t
                SET
                    t.Estado = 'ERROR',
                    t.FechaFin = SYSDATETIME(),
                    t.Mensaje = N'the stage did not finish before the proceso was closed (task killed or never run); '
                    + N'clear this fund''s task to run it again'
                FROM logs.Ejecucion_Etapas AS t
                INNER JOIN logs.Ejecuciones AS e ON t.ID_Ejecucion = e.ID_Ejecucion
                WHERE
                    e.ID_Proceso = @ID_Proceso
                    AND t.Estado IN ('EN_PROGRESO', 'PENDIENTE')
                    AND NOT EXISTS (
                        SELECT 1 FROM logs.Ejecucion_Etapas AS x
                        WHERE x.ID_Ejecucion = t.ID_Ejecucion AND x.Estado = 'ERROR'
                    );

                UPDATE f
                SET
                    f.Estado_Process_IPA = s.IPA,
                    f.Estado_Process_CAPM = s.CAPM,
                    f.Estado_Process_PNL = s.PNL,
                    f.Estado_Process_Derivados = s.Derivados,
                    f.Estado_Process_UBS = s.UBS
                FROM logs.Ejecucion_Fondos AS f
                INNER JOIN logs.Ejecuciones AS e ON f.ID_Ejecucion = e.ID_Ejecucion
                CROSS APPLY (
                    SELECT
                        MAX(CASE WHEN t.Etapa = 'IPA' THEN t.Estado END) AS IPA,
                        MAX(CASE WHEN t.Etapa = 'CAPM' THEN t.Estado END) AS CAPM,
                        MAX(CASE WHEN t.Etapa = 'PNL' THEN t.Estado END) AS PNL,
                        MAX(CASE WHEN t.Etapa = 'Derivados' THEN t.Estado END) AS Derivados,
                        MAX(CASE WHEN t.Etapa = 'UBS' THEN t.Estado END) AS UBS
                    FROM logs.Ejecucion_Etapas AS t
                    WHERE t.ID_Ejecucion = f.ID_Ejecucion
                ) AS s
                WHERE e.ID_Proceso = @ID_Proceso;
            END;

        EXEC logs.sp_Recalcular_Proceso @ID_Proceso = @ID_Proceso;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        p.FechaReporte,
        p.Estado,
        p.TotalFondos,
        p.FondosExitosos,
        p.FondosFallidos,
        p.FechaInicio,
        p.FechaFin
    FROM logs.Procesos AS p
    WHERE p.ID_Proceso = @ID_Proceso;
END;
GO
