-- staging.Derivados_01_Valorizar_v2
-- Values each FX forward or swap in the fund's base currency: both legs at
-- the day's rates, fair value = bought leg - sold leg, and days to maturity.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Fails when a currency has no rate for the date.
-- Effects: replaces this ejecución's rows of staging.Derivados_WorkTable. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
CREATE OR ALTER PROCEDURE staging.Derivados_01_Valorizar_v2
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
        FROM
            (
                SELECT d.MonedaCompra AS Moneda FROM extract.Derivados AS d
                WHERE d.ID_Ejecucion = @ID_Ejecucion
                UNION
                SELECT d.MonedaVenta FROM extract.Derivados AS d
                WHERE d.ID_Ejecucion = @ID_Ejecucion
            ) AS m;
        SET @Monedas = CONCAT_WS(',', @Base, @Monedas);
        SET @Contexto = CONCAT(N'Derivados, ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion);
        EXEC logs.sp_Validar_TiposCambio @FechaReporte = @FechaReporte, @Monedas = @Monedas, @Contexto = @Contexto;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.Derivados_WorkTable
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.Derivados_WorkTable (
            ID_Ejecucion, ID_Fund, ID_Contrato, Tipo_Derivado, MonedaCompra, MontoCompraBase,
            MonedaVenta, MontoVentaBase, ValorRazonableBase, DiasAlVencimiento
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            d.ID_Contrato,
            d.Tipo_Derivado,
            d.MonedaCompra,
            ROUND(d.MontoCompra * fc.TipoCambio / fb.TipoCambio, 4),
            d.MonedaVenta,
            ROUND(d.MontoVenta * fv.TipoCambio / fb.TipoCambio, 4),
            ROUND(d.MontoCompra * fc.TipoCambio / fb.TipoCambio, 4)
            - ROUND(d.MontoVenta * fv.TipoCambio / fb.TipoCambio, 4),
            DATEDIFF(DAY, @FechaReporte, d.FechaVencimiento)
        FROM extract.Derivados AS d
        INNER JOIN source.TiposCambio AS fc ON fc.FechaReporte = @FechaReporte AND d.MonedaCompra = fc.Moneda
        INNER JOIN source.TiposCambio AS fv ON fv.FechaReporte = @FechaReporte AND d.MonedaVenta = fv.Moneda
        INNER JOIN source.TiposCambio AS fb ON fb.FechaReporte = @FechaReporte AND fb.Moneda = @Base
        WHERE d.ID_Ejecucion = @ID_Ejecucion;
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
