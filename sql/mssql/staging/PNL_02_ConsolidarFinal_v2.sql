-- staging.PNL_02_ConsolidarFinal_v2
-- The fund's day: price result, net assets (IPA lines plus the derivatives'
-- fair value), net capital flow, and the return net of flows:
--   result / (net assets - result - net flow), in percent; NULL when the
--   opening net assets are not positive.
-- Holds the (PNL, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA, CAPM, Derivados.
-- Effects: replaces this ejecución's row of staging.PNL_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
CREATE OR ALTER PROCEDURE staging.PNL_02_ConsolidarFinal_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;
    DECLARE @Resultado DECIMAL(19, 4);
    DECLARE @Patrimonio DECIMAL(19, 4);
    DECLARE @Flujo DECIMAL(19, 4);
    DECLARE @Inicial DECIMAL(19, 4);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Resultado = ISNULL(SUM(w.ResultadoBase), 0)
        FROM staging.PNL_WorkTable AS w
        WHERE w.ID_Ejecucion = @ID_Ejecucion;
        SET
            @Patrimonio = ISNULL((
                SELECT SUM(i.ValorBase) FROM staging.IPA_Final AS i
                WHERE i.ID_Ejecucion = @ID_Ejecucion
            ), 0)
            + ISNULL((
                SELECT SUM(d.ValorRazonableBase) FROM staging.Derivados_Final AS d
                WHERE d.ID_Ejecucion = @ID_Ejecucion
            ), 0);
        SELECT @Flujo = ISNULL(SUM(c.FlujoNeto), 0) FROM staging.CAPM_Final AS c
        WHERE c.ID_Ejecucion = @ID_Ejecucion;
        SET @Inicial = @Patrimonio - @Resultado - @Flujo;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'PNL';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.PNL_Final
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.PNL_Final (ID_Ejecucion, ID_Fund, ResultadoBase, PatrimonioBase, FlujoNeto, RentabilidadPct)
        VALUES (
            @ID_Ejecucion, @ID_Fund, @Resultado, @Patrimonio, @Flujo,
            CASE
                WHEN @Inicial > 0 AND ABS(@Resultado) < 9 * @Inicial THEN ROUND(100 * @Resultado / @Inicial, 6)
            END
        );
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
