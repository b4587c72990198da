-- extract.UBS_00_Extraer_v2
-- Extract step of UBS for one fund: copies the custodian's holdings of the
-- fund's account for FechaReporte into extract.UBS under its own
-- ID_Ejecucion. Fails when the custodian file for that account and date has
-- not arrived (no rows): reconciling against nothing would report every
-- position as a break.
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_UBS (the custodian account).
-- Returns Filas, the rows written.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE extract.UBS_00_Extraer_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @Portfolio_UBS VARCHAR(50)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;
    DECLARE @Msg NVARCHAR(2048);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        IF
            NOT EXISTS (
                SELECT 1 FROM source.UBS_Custodia AS s
                WHERE s.Cuenta = @Portfolio_UBS AND s.FechaReporte = @FechaReporte
            )
            BEGIN
                SET @Msg = CONCAT(
                    N'missing source data: no custodian holdings in source.UBS_Custodia for account ', @Portfolio_UBS, N' on ',
                    CONVERT(CHAR(10), @FechaReporte, 23), N' (ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50030, @Msg, 1;
            END;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'UBS';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.UBS
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO extract.UBS (ID_Ejecucion, FechaReporte, Cuenta, ID_Instrumento, Cantidad)
        SELECT
            @ID_Ejecucion,
            u.FechaReporte,
            u.Cuenta,
            u.ID_Instrumento,
            u.Cantidad
        FROM source.UBS_Custodia AS u
        WHERE u.Cuenta = @Portfolio_UBS AND u.FechaReporte = @FechaReporte;
        SET @Filas = @@ROWCOUNT;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT @Filas AS Filas;
END;
GO
