-- staging.PNL_02_ConsolidarFinal_v2
-- The fund's day: price result, net assets (IPA lines plus the derivatives'
-- fair value), net capital flow, and the return net of flows:
--   result / (net assets - result - net flow), in percent; NULL when the
--   opening net assets are not positive, or the result is 9 or more times
--   them (it would overflow DECIMAL(9,6)).
-- Numeric contract (same in the PostgreSQL twin): sums exact, held as (19,4)
-- like PostgreSQL's NUMERIC(19,4) and the PNL_Final columns (both fail, never
-- round, beyond it); the quotient keeps 16 decimals before its ROUND to 6 (its
-- derived type is cut to (38,16), see below), and the 100 is cast.
-- Holds the (PNL, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA, CAPM, Derivados.
-- Effects: replaces this ejecución's row of staging.PNL_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

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

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'PNL';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        -- Read under the lock, so the result is that of the PNL_01 rows the lock protects (PNL_01 or a revert
        -- cannot change them in between); the other stages' totals are read here too, as in the PostgreSQL twin.
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
        SET @Inicial = @Patrimonio - @Resultado - @Flujo;  -- (19,4) - (19,4) - (19,4) = (21,4): exact

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
                WHEN @Inicial > 0 AND ABS(@Resultado) < 9 * @Inicial
                    -- 100 x (19,4) = (23,4), exact, held as (22,4) (17 integral digits needed); (22,4) / (19,4)
                    -- derives (46,24), cut to (38,16): 16 decimals before the ROUND to 6.
                    THEN ROUND(CAST(CAST(100 AS DECIMAL(3, 0)) * @Resultado AS DECIMAL(22, 4)) / @Inicial, 6)
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
