-- logs.sp_Registrar_Alerta
-- Records a rollback trigger of a proceso once (logs.Proceso_Alertas, 029) and,
-- when a Canal is given, reserves its message, under the proceso row lock:
--   the first call for (@ID_Proceso, @Disparador) inserts the row with Detalle
--   and Accion (Nueva = 1); later calls keep the first figures;
--   @Canal NULL: nothing is reserved (Envio says where the message stands);
--   @Canal smtp/slack: Envio ENVIADO -> YA_ENVIADO (send nothing); RESERVADO
--   less than 10 minutes ago -> EN_CURSO (another sender has it: send
--   nothing); otherwise -> ENVIAR (reserved now for this caller: send, then
--   logs.sp_Confirmar_Alerta).
-- Refuses legacy history (logs.sp_Rechazar_Legado), an unknown proceso (50020),
-- an unknown Disparador (50055) or Canal (50056), and an empty Detalle or
-- Accion (50057).
-- Parameters: @ID_Proceso; @Disparador (FALLOS_2H, DURACION); @Detalle;
-- @Accion; @Canal (NULL, smtp, slack).
-- Returns one row: Nueva, Envio (PENDIENTE, RESERVADO, ENVIADO: the row's
-- state after the call), Resultado (NULL without Canal, else ENVIAR, EN_CURSO
-- or YA_ENVIADO).
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Registrar_Alerta
    @ID_Proceso BIGINT,
    @Disparador VARCHAR(200),
    @Detalle NVARCHAR(4000),
    @Accion NVARCHAR(4000),
    @Canal VARCHAR(200) = NULL
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Nueva BIT = 0;
    DECLARE @Envio VARCHAR(20);
    DECLARE @FechaReserva DATETIME2(3);
    DECLARE @Resultado VARCHAR(20);

    -- Exact, as in PostgreSQL: BIN2 sees case; DATALENGTH sees the trailing spaces NOT IN ignores.
    IF
        @Disparador IS NULL
        OR @Disparador COLLATE Latin1_General_BIN2 NOT IN ('FALLOS_2H', 'DURACION')
        OR DATALENGTH(@Disparador) <> DATALENGTH(RTRIM(@Disparador))
        BEGIN
            SET @Msg = CONCAT(N'Disparador must be FALLOS_2H or DURACION, not ', ISNULL(@Disparador, 'NULL'));
            THROW 50055, @Msg, 1;
        END;
    IF
        @Canal IS NOT NULL
        AND (
            @Canal COLLATE Latin1_General_BIN2 NOT IN ('smtp', 'slack')
            OR DATALENGTH(@Canal) <> DATALENGTH(RTRIM(@Canal))
        )
        BEGIN
            SET @Msg = CONCAT(N'Canal must be smtp, slack or NULL, not ', @Canal);
            THROW 50056, @Msg, 1;
        END;
    IF NULLIF(TRIM(@Detalle), N'') IS NULL OR NULLIF(TRIM(@Accion), N'') IS NULL
        THROW 50057, N'Detalle and Accion are required (what fired the trigger, and the plan''s action)', 1;

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'recording a rollback trigger of a proceso';

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

        -- Under the proceso row lock, which every caller takes first: read the latest committed row.
        SELECT
            @Envio = a.Envio,
            @FechaReserva = a.FechaReserva
        FROM logs.Proceso_Alertas AS a WITH (UPDLOCK, HOLDLOCK)
        WHERE a.ID_Proceso = @ID_Proceso AND a.Disparador = @Disparador;

        IF @Envio IS NULL
            BEGIN
                INSERT INTO logs.Proceso_Alertas (ID_Proceso, Disparador, Detalle, Accion)
                VALUES (@ID_Proceso, @Disparador, LEFT(@Detalle, 1000), LEFT(@Accion, 1000));
                SET @Nueva = 1;
                SET @Envio = 'PENDIENTE';
            END;

        IF @Canal IS NOT NULL
            BEGIN
                IF @Envio = 'ENVIADO'
                    SET @Resultado = 'YA_ENVIADO';
                ELSE IF @Envio = 'RESERVADO' AND @FechaReserva > DATEADD(MINUTE, -10, SYSDATETIME())
                    SET @Resultado = 'EN_CURSO';
                ELSE
                    BEGIN
                        UPDATE a
                        SET
                            a.Envio = 'RESERVADO',
                            a.Canal = @Canal,
                            a.FechaReserva = SYSDATETIME()
                        FROM logs.Proceso_Alertas AS a
                        WHERE a.ID_Proceso = @ID_Proceso AND a.Disparador = @Disparador;
                        SET @Envio = 'RESERVADO';
                        SET @Resultado = 'ENVIAR';
                    END;
            END;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        @Nueva AS Nueva,
        @Envio AS Envio,
        @Resultado AS Resultado;
END;
GO

-- The operator's cerrar records triggers too (026's fondos_operador); the pipeline has EXECUTE on logs (018).
GRANT EXECUTE ON logs.sp_Registrar_Alerta TO fondos_operador;
GO
