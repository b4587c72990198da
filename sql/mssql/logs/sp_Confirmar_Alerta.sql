-- logs.sp_Confirmar_Alerta
-- Confirms that the message of a rollback trigger (logs.Proceso_Alertas, 029)
-- was sent: Envio ENVIADO, FechaEnvio now. Confirming twice keeps the first
-- FechaEnvio. Refuses an alert that was never reserved for sending (50058).
-- Parameters: @ID_Proceso; @Disparador.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Confirmar_Alerta
    @ID_Proceso BIGINT,
    @Disparador VARCHAR(200)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Msg NVARCHAR(2048);

    UPDATE a
    SET
        a.Envio = 'ENVIADO',
        a.FechaEnvio = ISNULL(a.FechaEnvio, SYSDATETIME())
    FROM logs.Proceso_Alertas AS a
    WHERE
        a.ID_Proceso = @ID_Proceso
        -- Exact, as in PostgreSQL: BIN2 sees case; DATALENGTH sees trailing spaces (= ignores them).
        AND a.Disparador = @Disparador COLLATE Latin1_General_BIN2
        AND DATALENGTH(a.Disparador) = DATALENGTH(@Disparador)
        AND a.Envio IN ('RESERVADO', 'ENVIADO');

    IF @@ROWCOUNT = 0
        BEGIN
            SET @Msg = CONCAT(
                N'no rollback alert ', ISNULL(@Disparador, 'NULL'), N' reserved for sending for ID_Proceso ', @ID_Proceso
            );
            THROW 50058, @Msg, 1;
        END;
END;
GO

GRANT EXECUTE ON logs.sp_Confirmar_Alerta TO fondos_operador;
GO
