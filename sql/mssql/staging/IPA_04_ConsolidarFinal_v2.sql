-- staging.IPA_04_ConsolidarFinal_v2
-- The fund's final IPA: one line per position and per cash currency, value in
-- local and base currency, and its weight in the fund's net assets (percent).
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Effects: replaces this ejecución's rows of staging.IPA_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
CREATE OR ALTER PROCEDURE staging.IPA_04_ConsolidarFinal_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;
    DECLARE @Total DECIMAL(19, 4);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SET
            @Total = ISNULL((
                SELECT SUM(w.ValorMercadoBase) FROM staging.IPA_WorkTable AS w
                WHERE w.ID_Ejecucion = @ID_Ejecucion
            ), 0)
            + ISNULL((
                SELECT SUM(c.SaldoBase) FROM staging.IPA_Cash AS c
                WHERE c.ID_Ejecucion = @ID_Ejecucion
            ), 0);

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.IPA_Final
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.IPA_Final (ID_Ejecucion, ID_Fund, Linea, Tipo_Linea, Moneda, ValorLocal, ValorBase, PesoPct)
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            l.Linea,
            l.Tipo_Linea,
            l.Moneda,
            l.ValorLocal,
            l.ValorBase,
            CASE WHEN @Total > 0 THEN ROUND(100 * l.ValorBase / @Total, 6) ELSE 0 END
        FROM (
            SELECT
                w.ID_Instrumento AS Linea,
                'POSICION' AS Tipo_Linea,
                w.Moneda,
                w.ValorMercadoLocal AS ValorLocal,
                w.ValorMercadoBase AS ValorBase
            FROM staging.IPA_WorkTable AS w
            WHERE w.ID_Ejecucion = @ID_Ejecucion
            UNION ALL
            SELECT
                CONCAT('CAJA-', c.Moneda),
                'CAJA',
                c.Moneda,
                c.SaldoLocal,
                c.SaldoBase
            FROM staging.IPA_Cash AS c
            WHERE c.ID_Ejecucion = @ID_Ejecucion
        ) AS l;
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
