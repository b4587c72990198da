-- logs.sp_Aceptar_Retencion
-- An operator accepts a held fund (logs.vw_Ejecucion_Verificacion RETENIDO) with a
-- reason: recorded with who and when for the run of the checks it accepts
-- (logs.Ejecucion_Aceptaciones, 030), so the next approval publishes the fund.
-- Accepting an already accepted run changes nothing (Nueva = 0). Refuses an
-- empty @Usuario or @Motivo (50071), an unknown ejecución (50072), and a fund
-- that is not held (50073). Under the proceso row lock, like every writer of a
-- fund's state.
-- Parameters: @ID_Ejecucion, @Usuario, @Motivo. Returns FechaControl, Nueva.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Aceptar_Retencion
    @ID_Ejecucion BIGINT,
    @Usuario VARCHAR(200),
    @Motivo NVARCHAR(4000)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @ID_Proceso BIGINT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Verificacion VARCHAR(20);
    DECLARE @FechaControl DATETIME2(3);
    DECLARE @Nueva BIT = 0;

    IF NULLIF(TRIM(@Usuario), '') IS NULL OR NULLIF(TRIM(@Motivo), N'') IS NULL
        THROW 50071, N'accepting a held fund needs who accepts it and why (Usuario and Motivo)', 1;

    BEGIN TRY
        BEGIN TRANSACTION;

        -- The proceso's id first, then its row lock by key: a join under UPDLOCK, HOLDLOCK could range-lock every proceso.
        SELECT @ID_Proceso = e.ID_Proceso FROM logs.Ejecuciones AS e
        WHERE e.ID_Ejecucion = @ID_Ejecucion;
        SELECT @Bloqueo = p.ID_Proceso
        FROM logs.Procesos AS p WITH (UPDLOCK, HOLDLOCK, ROWLOCK)
        WHERE p.ID_Proceso = @ID_Proceso;
        IF @Bloqueo IS NULL
            BEGIN
                SET @Msg = CONCAT(N'unknown ID_Ejecucion ', @ID_Ejecucion);
                THROW 50072, @Msg, 1;
            END;

        SELECT
            @Verificacion = v.Verificacion,
            @FechaControl = v.FechaControl
        FROM logs.vw_Ejecucion_Verificacion AS v
        WHERE v.ID_Ejecucion = @ID_Ejecucion;

        IF @Verificacion IS NULL OR @Verificacion NOT IN ('RETENIDO', 'ACEPTADO')
            BEGIN
                SET @Msg = CONCAT(
                    N'ID_Ejecucion ', @ID_Ejecucion, N' is not held (its checks say ',
                    COALESCE(@Verificacion, 'nothing: the fund is not OK'), N'): there is nothing to accept'
                );
                THROW 50073, @Msg, 1;
            END;

        IF @Verificacion = 'RETENIDO'
            BEGIN
                INSERT INTO logs.Ejecucion_Aceptaciones (ID_Ejecucion, FechaControl, Usuario, Motivo)
                VALUES (@ID_Ejecucion, @FechaControl, LEFT(@Usuario, 100), LEFT(@Motivo, 1000));
                SET @Nueva = 1;
            END;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        @FechaControl AS FechaControl,
        @Nueva AS Nueva;
END;
GO

-- The operator accepts held funds (026's fondos_operador); the pipeline has EXECUTE on logs (018).
GRANT EXECUTE ON logs.sp_Aceptar_Retencion TO fondos_operador;
GO
