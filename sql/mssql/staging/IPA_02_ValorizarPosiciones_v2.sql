-- staging.IPA_02_ValorizarPosiciones_v2
-- Values each position: market value in local currency (quantity x rescued
-- price) and in the fund's base currency (x the day's rate local/base).
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Fails when a currency has no rate for the date.
-- Effects: replaces this ejecución's rows of staging.IPA_WorkTable. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
CREATE OR ALTER PROCEDURE staging.IPA_02_ValorizarPosiciones_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;
    DECLARE @Base CHAR(3);
    DECLARE @Monedas VARCHAR(400);
    DECLARE @Contexto NVARCHAR(400);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Base = f.Moneda_Base FROM config.Fondos AS f
        WHERE f.ID_Fund = @ID_Fund;
        SELECT @Monedas = STRING_AGG(m.Moneda, ',')
        FROM (
            SELECT DISTINCT i.Moneda FROM extract.IPA AS i
            WHERE i.ID_Ejecucion = @ID_Ejecucion
        ) AS m;
        SET @Monedas = CONCAT_WS(',', @Base, @Monedas);
        SET @Contexto = CONCAT(N'IPA, ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion);
        EXEC logs.sp_Validar_TiposCambio @FechaReporte = @FechaReporte, @Monedas = @Monedas, @Contexto = @Contexto;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.IPA_WorkTable
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.IPA_WorkTable (
            ID_Ejecucion, ID_Fund, ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, PrecioLocal, FuentePrecio,
            ValorMercadoLocal, TipoCambio, ValorMercadoBase
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            i.ID_Instrumento,
            i.Tipo_Instrumento,
            i.Moneda,
            i.Cantidad,
            pr.PrecioLocal,
            pr.FuentePrecio,
            ROUND(i.Cantidad * pr.PrecioLocal, 4),
            ROUND(fl.TipoCambio / fb.TipoCambio, 8),
            ROUND(i.Cantidad * pr.PrecioLocal * ROUND(fl.TipoCambio / fb.TipoCambio, 8), 4)
        FROM extract.IPA AS i
        INNER JOIN staging.IPA_Precios AS pr
            ON i.ID_Ejecucion = pr.ID_Ejecucion AND pr.ID_Fund = @ID_Fund AND i.ID_Instrumento = pr.ID_Instrumento
        INNER JOIN source.TiposCambio AS fl ON fl.FechaReporte = @FechaReporte AND i.Moneda = fl.Moneda
        INNER JOIN source.TiposCambio AS fb ON fb.FechaReporte = @FechaReporte AND fb.Moneda = @Base
        WHERE i.ID_Ejecucion = @ID_Ejecucion;
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
