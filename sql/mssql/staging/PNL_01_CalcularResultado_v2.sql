-- staging.PNL_01_CalcularResultado_v2
-- Price result of each position since the previous available price:
-- quantity x (price - previous price), in local and base currency. A position
-- with no previous price (new instrument) has a zero result.
-- Holds the (PNL, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's rows of staging.PNL_WorkTable. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
CREATE OR ALTER PROCEDURE staging.PNL_01_CalcularResultado_v2
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
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'PNL';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.PNL_WorkTable
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.PNL_WorkTable (
            ID_Ejecucion, ID_Fund, ID_Instrumento, Moneda, Cantidad, PrecioLocal, PrecioAnterior, ResultadoLocal,
            ResultadoBase
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            w.ID_Instrumento,
            w.Moneda,
            w.Cantidad,
            w.PrecioLocal,
            COALESCE(pr.PrecioAnterior, w.PrecioLocal),
            ROUND(w.Cantidad * (w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal)), 4),
            ROUND(w.Cantidad * (w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal)) * w.TipoCambio, 4)
        FROM staging.IPA_WorkTable AS w
        INNER JOIN staging.IPA_Precios AS pr
            ON w.ID_Ejecucion = pr.ID_Ejecucion AND w.ID_Fund = pr.ID_Fund AND w.ID_Instrumento = pr.ID_Instrumento
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
