-- staging.Derivados_02_ConsolidarFinal_v2
-- The fund's derivatives summary: contracts, notional (bought legs) and fair
-- value in base currency, and notional as a percent of the IPA net assets
-- (NULL when those are not positive).
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's row of staging.Derivados_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
CREATE OR ALTER PROCEDURE staging.Derivados_02_ConsolidarFinal_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;
    DECLARE @Activos DECIMAL(19, 4);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Activos = ISNULL(SUM(i.ValorBase), 0) FROM staging.IPA_Final AS i
        WHERE i.ID_Ejecucion = @ID_Ejecucion;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.Derivados_Final
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.Derivados_Final (
            ID_Ejecucion, ID_Fund, NumContratos, NocionalBase, ValorRazonableBase, ExposicionPct
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            COUNT(*),
            ISNULL(SUM(w.MontoCompraBase), 0),
            ISNULL(SUM(w.ValorRazonableBase), 0),
            CASE
                WHEN @Activos > 0 AND ISNULL(SUM(w.MontoCompraBase), 0) < 9 * @Activos
                    THEN ROUND(100 * ISNULL(SUM(w.MontoCompraBase), 0) / @Activos, 6)
            END
        FROM staging.Derivados_WorkTable AS w
        WHERE w.ID_Ejecucion = @ID_Ejecucion;
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
