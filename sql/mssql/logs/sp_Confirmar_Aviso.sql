-- logs.sp_Confirmar_Aviso
-- Confirms that the morning message reserved under (@ID_Proceso, @Secuencia)
-- was sent (logs.Proceso_Avisos, migration 023): Envio ENVIADO, FechaEnvio
-- now. Confirming twice keeps the first FechaEnvio. Refuses a reservation
-- that does not exist.
-- Parameters: @ID_Proceso; @Secuencia.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client (a module keeps both).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Confirmar_Aviso
    @ID_Proceso BIGINT,
    @Secuencia INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Msg NVARCHAR(2048);

    UPDATE a
    SET
        a.Envio = 'ENVIADO',
        a.FechaEnvio = ISNULL(a.FechaEnvio, SYSDATETIME())
    FROM logs.Proceso_Avisos AS a
    WHERE a.ID_Proceso = @ID_Proceso AND a.Secuencia = @Secuencia;

    IF @@ROWCOUNT = 0
        BEGIN
            SET @Msg = CONCAT(
                N'no morning message reserved for ID_Proceso ', @ID_Proceso, N' with Secuencia ', @Secuencia
            );
            THROW 50053, @Msg, 1;
        END;
END;
GO
