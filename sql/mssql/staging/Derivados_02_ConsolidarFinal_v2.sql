-- staging.Derivados_02_ConsolidarFinal_v2
-- The fund's derivatives summary: contracts, notional (bought legs) and fair
-- value in base currency, and notional as a percent of the IPA net assets
-- (NULL when those are not positive, or the notional is 9 or more times them:
-- it would overflow DECIMAL(9,6)).
-- Numeric contract (same in the PostgreSQL twin): sums exact, the net assets
-- held as (19,4) like PostgreSQL's NUMERIC(19,4) (both fail, never round,
-- beyond it); the quotient keeps 16 decimals before its ROUND to 6 (its
-- derived type is cut to (38,16), see below), and the 100 is cast.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's row of staging.Derivados_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

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

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        -- Read under the lock, after the check above, as in the PostgreSQL twin.
        SELECT @Activos = ISNULL(SUM(i.ValorBase), 0) FROM staging.IPA_Final AS i
        WHERE i.ID_Ejecucion = @ID_Ejecucion;

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
                WHEN @Activos > 0 AND ABS(ISNULL(SUM(w.MontoCompraBase), 0)) < 9 * @Activos
                    -- 100 x SUM (38,4) = (38,4), exact (a scale below 6 is never cut), held as (22,4) (the
                    -- notional fits NocionalBase's (19,4)); (22,4) / (19,4) derives (46,24), cut to (38,16):
                    -- 16 decimals before the ROUND to 6.
                    THEN ROUND(
                        CAST(CAST(100 AS DECIMAL(3, 0)) * ISNULL(SUM(w.MontoCompraBase), 0) AS DECIMAL(22, 4)) / @Activos, 6
                    )
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
