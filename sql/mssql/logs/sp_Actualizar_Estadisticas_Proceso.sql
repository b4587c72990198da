-- logs.sp_Actualizar_Estadisticas_Proceso
-- The final task's call: recomputes the proceso's figures from its children
-- and returns them. With @Cerrar = 1 it also closes the proceso, so it ends
-- OK or ERROR, never stuck EN_PROGRESO: a stage still EN_PROGRESO or
-- REINTENTANDO (its attempt never recorded an outcome) becomes ERROR, and a
-- fund that then has no failed stage but still has PENDIENTE stages gets them
-- marked ERROR (they never ran). Stages PENDIENTE behind a failed stage stay
-- PENDIENTE on every path: they never ran because of it. The Airflow task
-- closing the proceso first reconciles with Airflow's own task states
-- (fondos.pipeline.proceso.reconciliar), so its messages say "killed on try N".
-- Refuses legacy history (logs.sp_Rechazar_Legado): its figures are the legacy
-- backend's and are never recomputed.
-- Parameters: @ID_Proceso; @Cerrar (0 = recompute only, 1 = close).
-- Returns one row: FechaReporte, Estado, TotalFondos, FondosExitosos,
-- FondosFallidos, FechaInicio, FechaFin.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Actualizar_Estadisticas_Proceso
    @ID_Proceso BIGINT,
    @Cerrar BIT = 0
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Accion NVARCHAR(200) = CASE
        WHEN @Cerrar = 1 THEN N'cerrar (close a proceso)' ELSE N'recomputing the figures of a proceso'
    END;

    EXEC logs.sp_Rechazar_Legado @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = @Accion;

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
                -- 1. attempts that never recorded an outcome (t.* on the right is the row before the UPDATE)
                UPDATE t
                SET
                    t.Estado = 'ERROR',
                    t.FechaFin = SYSDATETIME(),
                    t.Mensaje = LEFT(
                        CONCAT(
                            CAST(N'attempt ' AS NVARCHAR(MAX)), t.Intentos,
                            N' did not finish before the proceso was closed (task killed, worker lost or timed out)',
                            CASE WHEN t.Mensaje IS NOT NULL THEN CONCAT(N'; last message: ', t.Mensaje) END,
                            N'; clear this fund''s task to run it again'
                        ),
                        4000
                    )
                FROM logs.Ejecucion_Etapas AS t
                INNER JOIN logs.Ejecuciones AS e ON t.ID_Ejecucion = e.ID_Ejecucion
                WHERE
                    e.ID_Proceso = @ID_Proceso
                    AND t.Estado IN ('EN_PROGRESO', 'REINTENTANDO');

                -- 2. stages that never ran, in funds with no failed stage (after step 1)
                UPDATE t
                SET
                    t.Estado = 'ERROR',
                    t.FechaFin = SYSDATETIME(),
                    t.Mensaje = N'the stage never ran before the proceso was closed; clear this fund''s task to run it again'
                FROM logs.Ejecucion_Etapas AS t
                INNER JOIN logs.Ejecuciones AS e ON t.ID_Ejecucion = e.ID_Ejecucion
                WHERE
                    e.ID_Proceso = @ID_Proceso
                    AND t.Estado = 'PENDIENTE'
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

-- The operator's `fondos proceso cerrar` (026) runs it too, as the pipeline's cerrar_proceso does.
GRANT EXECUTE ON logs.sp_Actualizar_Estadisticas_Proceso TO fondos_operador;
GO
