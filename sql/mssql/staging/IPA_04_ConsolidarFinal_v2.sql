-- staging.IPA_04_ConsolidarFinal_v2
-- The fund's final IPA: one line per position and per cash currency, value in
-- local and base currency, and its weight in the fund's net assets (percent).
-- PesoPct = ROUND(100 x ValorBase / net assets, 6); NULL (not meaningful) when
-- the net assets are not positive or the line is 9 or more times them (a
-- short-heavy fund, an overdraft), which would also overflow DECIMAL(9,6).
-- Numeric contract (same in the PostgreSQL twin): the net assets are the exact
-- sum of the lines, held as (19,4) like PostgreSQL's NUMERIC(19,4) (both fail,
-- never round, beyond it); the quotient keeps 16 decimals before its ROUND to
-- 6 (its derived type is cut to (38,16), see below), and the 100 is cast.
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Effects: replaces this ejecución's rows of staging.IPA_Final. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

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

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        -- Read under the lock, so the net assets are those of the lines written below (IPA_02 and IPA_03,
        -- or a revert, cannot change them in between).
        -- Each SUM is (38,4) and exact; so is their sum (34 integral digits and 4 decimals fit 38).
        SET
            @Total = ISNULL((
                SELECT SUM(w.ValorMercadoBase) FROM staging.IPA_WorkTable AS w
                WHERE w.ID_Ejecucion = @ID_Ejecucion
            ), 0)
            + ISNULL((
                SELECT SUM(c.SaldoBase) FROM staging.IPA_Cash AS c
                WHERE c.ID_Ejecucion = @ID_Ejecucion
            ), 0);

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
            CASE
                WHEN @Total > 0 AND ABS(l.ValorBase) < 9 * @Total
                    -- 100 x (19,4) = (23,4), exact, held as (22,4) (17 integral digits needed); (22,4) / (19,4)
                    -- derives (46,24), cut to (38,16): 16 decimals before the ROUND to 6.
                    THEN ROUND(CAST(CAST(100 AS DECIMAL(3, 0)) * l.ValorBase AS DECIMAL(22, 4)) / @Total, 6)
            END
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
