-- extract.Derivados_00_Extraer_v2
-- Extract step of Derivados for one fund: copies the fund's open derivative
-- contracts of FechaReporte into extract.Derivados under its own
-- ID_Ejecucion. A day without open contracts writes no rows.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_Derivados.
-- Returns Filas, the rows written.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE extract.Derivados_00_Extraer_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @Portfolio_Derivados VARCHAR(50)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.Derivados
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO extract.Derivados (
            ID_Ejecucion, FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado,
            MonedaCompra, MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento
        )
        SELECT
            @ID_Ejecucion,
            d.FechaReporte,
            d.Portfolio,
            d.ID_Contrato,
            d.Tipo_Derivado,
            d.MonedaCompra,
            d.MontoCompra,
            d.MonedaVenta,
            d.MontoVenta,
            d.FechaVencimiento
        FROM source.Derivados_Contratos AS d
        WHERE d.Portfolio = @Portfolio_Derivados AND d.FechaReporte = @FechaReporte;
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
