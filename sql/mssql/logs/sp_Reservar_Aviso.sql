-- logs.sp_Reservar_Aviso
-- Reserves the morning message of one outcome of a proceso before it is sent
-- (logs.Proceso_Avisos, migration 023), under the proceso row lock (UPDLOCK,
-- HOLDLOCK), and says what to do, comparing with the proceso's last
-- reservation only:
--   YA_ENVIADO  the last one is this outcome and was confirmed: send nothing;
--   REENVIAR    the last one is this outcome, reserved but never confirmed
--               (the sender died after sending, or before): send it again,
--               under the same Secuencia (the same Message-ID);
--   ENVIAR      anything else (no message yet, or another outcome last): a new
--               reservation with the next Secuencia; send it.
-- Refuses legacy history (logs.sp_Rechazar_Legado), an unknown proceso, a
-- Firma that is not 64 lower-case hex characters, and an unknown Canal
-- (exactly: 'smtp ' is unknown, as in PostgreSQL). The
-- parameters are wider than the columns: SQL Server would cut a longer value
-- to a parameter's length without an error, where PostgreSQL refuses it;
-- here the checks see the whole value and refuse it too.
-- Parameters: @ID_Proceso; @Firma; @Canal (smtp, slack); @Estado (the
-- proceso's state the message reports).
-- Returns one row: Secuencia, Accion.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Reservar_Aviso
    @ID_Proceso BIGINT,
    @Firma VARCHAR(200),
    @Canal VARCHAR(200),
    @Estado VARCHAR(200)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Bloqueo BIGINT;
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Ultima INT;
    DECLARE @UltimaFirma CHAR(64);
    DECLARE @UltimoEnvio VARCHAR(20);
    DECLARE @Accion VARCHAR(20);

    IF
        @Firma IS NULL
        OR DATALENGTH(@Firma) <> 64
        OR @Firma COLLATE Latin1_General_BIN2 LIKE '%[^0-9a-f]%'
        BEGIN
            SET @Msg = CONCAT(
                N'Firma must be 64 lower-case hex characters (a SHA-256), not ', ISNULL(@Firma, 'NULL')
            );
            THROW 50051, @Msg, 1;
        END;
    -- Exact, as in PostgreSQL: BIN2 sees case; NOT IN ignores trailing spaces under every collation, binary
    -- ones too (and so does the column's check), so DATALENGTH compares the value with its RTRIM.
    IF
        @Canal IS NULL
        OR @Canal COLLATE Latin1_General_BIN2 NOT IN ('smtp', 'slack')
        OR DATALENGTH(@Canal) <> DATALENGTH(RTRIM(@Canal))
        BEGIN
            SET @Msg = CONCAT(N'Canal must be smtp or slack, not ', ISNULL(@Canal, 'NULL'));
            THROW 50052, @Msg, 1;
        END;

    EXEC logs.sp_Rechazar_Legado
        @ID_Proceso = @ID_Proceso, @ID_Ejecucion = NULL, @Accion = N'sending the morning message of a proceso';

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

        SELECT TOP (1)
            @Ultima = a.Secuencia,
            @UltimaFirma = a.Firma,
            @UltimoEnvio = a.Envio
        FROM logs.Proceso_Avisos AS a WITH (UPDLOCK, HOLDLOCK)
        WHERE a.ID_Proceso = @ID_Proceso
        ORDER BY a.Secuencia DESC;

        IF @Ultima IS NOT NULL AND @UltimaFirma COLLATE Latin1_General_BIN2 = @Firma
            SET @Accion = CASE WHEN @UltimoEnvio = 'ENVIADO' THEN 'YA_ENVIADO' ELSE 'REENVIAR' END;
        ELSE
            BEGIN
                SET @Ultima = ISNULL(@Ultima, 0) + 1;
                SET @Accion = 'ENVIAR';
                INSERT INTO logs.Proceso_Avisos (ID_Proceso, Secuencia, Firma, Canal, Estado)
                VALUES (@ID_Proceso, @Ultima, @Firma, @Canal, @Estado);
            END;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT
        @Ultima AS Secuencia,
        @Accion AS Accion;
END;
GO
