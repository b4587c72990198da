-- logs.sp_Registrar_Aviso
-- Records that the morning message of one outcome of a proceso was sent
-- (logs.Proceso_Avisos, migration 023). Recording the same outcome twice is a
-- no-op: the first row stays. The existence check and the insert run under
-- UPDLOCK, HOLDLOCK on the key, so two callers of the same outcome never both
-- insert (no primary-key violation). Refuses an unknown proceso.
-- Parameters: @ID_Proceso; @Firma (64 hex characters, the outcome's SHA-256);
-- @Canal (smtp, slack); @Estado (the proceso's state the message reported).
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Registrar_Aviso
    @ID_Proceso BIGINT,
    @Firma VARCHAR(64),
    @Canal VARCHAR(20),
    @Estado VARCHAR(50)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Msg NVARCHAR(2048);

    IF @Firma IS NULL OR LEN(@Firma) <> 64 OR @Firma COLLATE Latin1_General_BIN2 LIKE '%[^0-9a-f]%'
        BEGIN
            SET @Msg = CONCAT(
                N'Firma must be 64 lower-case hex characters (a SHA-256), not ', ISNULL(@Firma, 'NULL')
            );
            THROW 50031, @Msg, 1;
        END;

    IF
        NOT EXISTS (
            SELECT 1 FROM logs.Procesos AS p
            WHERE p.ID_Proceso = @ID_Proceso
        )
        BEGIN
            SET @Msg = CONCAT(N'unknown ID_Proceso ', @ID_Proceso);
            THROW 50020, @Msg, 1;
        END;

    BEGIN TRY
        BEGIN TRANSACTION;

        IF
            NOT EXISTS (
                SELECT 1 FROM logs.Proceso_Avisos AS a WITH (UPDLOCK, HOLDLOCK)
                WHERE a.ID_Proceso = @ID_Proceso AND a.Firma = @Firma
            )
            INSERT INTO logs.Proceso_Avisos (ID_Proceso, Firma, Canal, Estado)
            VALUES (@ID_Proceso, @Firma, @Canal, @Estado);

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;
END;
GO
