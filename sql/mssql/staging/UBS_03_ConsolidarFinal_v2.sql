-- staging.UBS_03_ConsolidarFinal_v2
-- The fund's reconciliation summary: instruments reconciled and breaks.
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Effects: replaces this ejecución's row of staging.UBS_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE staging.UBS_03_ConsolidarFinal_v2
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
                DELETE TOP (@Lote) FROM staging.UBS_Final
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.UBS_Final (ID_Ejecucion, ID_Fund, NumInstrumentos, NumQuiebres)
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            COUNT(*),
            ISNULL(SUM(CASE WHEN r.Estado_Conciliacion <> 'CUADRA' THEN 1 ELSE 0 END), 0)
        FROM staging.UBS_Reconciliacion AS r
        WHERE r.ID_Ejecucion = @ID_Ejecucion;
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
