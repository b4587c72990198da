-- staging.PNL_01_CalcularResultado_v2
-- Price result of each position since the previous available price:
-- quantity x (price - previous price), in local and base currency. A position
-- with no previous price (new instrument) has a zero result.
-- Numeric contract (same in the PostgreSQL twin): ResultadoLocal = ROUND(Cantidad x
-- (PrecioLocal - PrecioAnterior), 4); ResultadoBase = ROUND(ResultadoLocal x
-- TipoCambio, 4), the base amount from the booked local one, as IPA_02 does.
-- Casts keep every product within precision 38 so SQL Server never cuts its
-- scale: (18,4) x (19,6) = (38,10) and (19,4) x (18,8) = (38,12), each exact
-- before its one ROUND. Beyond the casts' range (Cantidad >= 10^14, a price
-- change >= 10^13, rate >= 10^10) the step fails with error 8115 (arithmetic
-- overflow); it never rounds.
-- Holds the (PNL, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's rows of staging.PNL_WorkTable. Returns Filas.
-- Collation (SQL Server): the join on ID_Instrumento compares with the default
-- collation (case- and trailing-space-insensitive), PostgreSQL's exactly; both
-- sides are copies of extract.IPA's codes (IPA_01, IPA_02), which its source
-- key keeps distinct in that collation, so it matches the same rows.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

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
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

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
            v.ResultadoLocal,
            -- (19,4) x (18,8) = (38,12): exact, from the rounded local result. IPA_02 wrote TipoCambio as (18,8).
            ROUND(v.ResultadoLocal * CAST(w.TipoCambio AS DECIMAL(18, 8)), 4)
        FROM staging.IPA_WorkTable AS w
        INNER JOIN staging.IPA_Precios AS pr
            ON w.ID_Ejecucion = pr.ID_Ejecucion AND w.ID_Fund = pr.ID_Fund AND w.ID_Instrumento = pr.ID_Instrumento
        CROSS APPLY (
            -- ResultadoLocal: the difference of two (19,6) prices derives (20,6), and (19,4) x (20,6) would
            -- derive (40,10), cut to (38,8): a second rounding. Cantidad as (18,4) (IPA_02's range) and the
            -- difference as (19,6) (a price's own range) give (18,4) x (19,6) = (38,10): exact; stored as (19,4).
            VALUES (
                CAST(
                    ROUND(
                        CAST(w.Cantidad AS DECIMAL(18, 4))
                        * CAST(w.PrecioLocal - COALESCE(pr.PrecioAnterior, w.PrecioLocal) AS DECIMAL(19, 6)),
                        4
                    ) AS DECIMAL(19, 4)
                )
            )
        ) AS v(ResultadoLocal)
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
