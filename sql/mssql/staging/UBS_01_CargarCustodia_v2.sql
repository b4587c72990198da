-- staging.UBS_01_CargarCustodia_v2
-- The custodian's holdings of the fund per instrument (summing lots).
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Effects: replaces this ejecución's rows of staging.UBS_WorkTable. Returns Filas.
-- Collation (SQL Server): the GROUP BY compares ID_Instrumento with the default
-- collation (case- and trailing-space-insensitive), PostgreSQL exactly; the
-- groups are the same: UBS_00 copied one account's holdings (it refuses other
-- spellings of the account), whose feed key cannot hold 'abc' beside 'ABC'.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE staging.UBS_01_CargarCustodia_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'UBS';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.UBS_WorkTable
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.UBS_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento, CantidadCustodio)
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            u.ID_Instrumento,
            SUM(u.Cantidad)
        FROM extract.UBS AS u
        WHERE u.ID_Ejecucion = @ID_Ejecucion
        GROUP BY u.ID_Instrumento;
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
