-- staging.IPA_03_CargarCaja_v2
-- Cash lines of the fund: each currency's balance in local and base currency.
-- Numeric contract (same in the PostgreSQL twin): SaldoBase = ROUND(SUM(Saldo) x
-- ROUND(rate(local) / rate(base), 8), 4).
-- Casts keep the product within precision 38 so SQL Server never cuts its
-- scale: (19,4) x (18,8) = (38,12), exact before its one ROUND. The rate
-- quotient is cut to (38,19): 19 decimals before its ROUND to 8. Beyond the
-- casts' range (balance >= 10^15, rate >= 10^10) the step fails with error
-- 8115 (arithmetic overflow); it never rounds.
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Fails when a currency has no rate for the date.
-- Collation (SQL Server): the rate joins and the GROUP BY compare Moneda with
-- the default collation (case-insensitive), PostgreSQL exactly; they give the
-- same rows. The rates are validated in exact case first
-- (logs.sp_Validar_TiposCambio) and source.TiposCambio's key allows one row
-- per currency and date in the default collation; extract.SONA holds one
-- portfolio's balances (IPA_00 refuses other spellings of the portfolio),
-- whose source key (Portfolio, FechaReporte, Moneda) cannot hold 'usd' beside
-- 'USD'. CHAR(3) trailing spaces are compared by neither engine.
-- Effects: replaces this ejecución's rows of staging.IPA_Cash. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE staging.IPA_03_CargarCaja_v2
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

        -- The stage lock before the data checks below, as in the PostgreSQL twin: a re-run of this stage
        -- (a cleared task beside a zombie attempt) cannot change what was checked before it is written.
        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Base = f.Moneda_Base FROM config.Fondos AS f
        WHERE f.ID_Fund = @ID_Fund;
        SELECT @Monedas = STRING_AGG(m.Moneda, ',')
        FROM (
            SELECT DISTINCT c.Moneda FROM extract.SONA AS c
            WHERE c.ID_Ejecucion = @ID_Ejecucion
        ) AS m;
        SET @Monedas = CONCAT_WS(',', @Base, @Monedas);
        SET @Contexto = CONCAT(N'IPA cash, ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion);
        EXEC logs.sp_Validar_TiposCambio @FechaReporte = @FechaReporte, @Monedas = @Monedas, @Contexto = @Contexto;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.IPA_Cash
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.IPA_Cash (ID_Ejecucion, ID_Fund, Moneda, SaldoLocal, TipoCambio, SaldoBase)
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            c.Moneda,
            CAST(SUM(c.Saldo) AS DECIMAL(19, 4)),
            r.TipoCambio,
            -- SUM is (38,4), cast to the column's (19,4): (19,4) x (18,8) = (38,12), exact.
            ROUND(CAST(SUM(c.Saldo) AS DECIMAL(19, 4)) * r.TipoCambio, 4)
        FROM extract.SONA AS c
        INNER JOIN source.TiposCambio AS fl ON fl.FechaReporte = @FechaReporte AND c.Moneda = fl.Moneda
        INNER JOIN source.TiposCambio AS fb ON fb.FechaReporte = @FechaReporte AND fb.Moneda = @Base
        CROSS APPLY (
            -- (19,8) / (19,8) derives (47,28), cut to (38,19); rounded to 8, held as (18,8).
            VALUES (CAST(ROUND(CAST(fl.TipoCambio AS DECIMAL(19, 8)) / CAST(fb.TipoCambio AS DECIMAL(19, 8)), 8) AS DECIMAL(18, 8)))
        ) AS r(TipoCambio)
        WHERE c.ID_Ejecucion = @ID_Ejecucion
        -- r.TipoCambio is one value per currency (source.TiposCambio is keyed by FechaReporte, Moneda).
        GROUP BY c.Moneda, r.TipoCambio;
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
