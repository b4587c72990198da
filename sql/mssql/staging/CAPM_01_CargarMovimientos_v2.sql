-- staging.CAPM_01_CargarMovimientos_v2
-- The fund's capital movements signed (subscriptions +, redemptions -) and
-- converted to its base currency.
-- Numeric contract (same in the PostgreSQL twin): MontoBase = ROUND(signed Monto x
-- ROUND(rate(local) / rate(base), 8), 4).
-- Casts keep the product within precision 38 so SQL Server never cuts its
-- scale: (19,4) x (18,8) = (38,12), exact before its one ROUND. The rate
-- quotient is cut to (38,19): 19 decimals before its ROUND to 8. Beyond the
-- casts' range (rate >= 10^10) the step fails with error 8115 (arithmetic
-- overflow); it never rounds.
-- Holds the (CAPM, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Fails on an unknown movement type or a currency with no rate for the date.
-- Collation (SQL Server): the movement type is checked exactly, as in PostgreSQL
-- (case and trailing spaces: 'rescate' and 'RESCATE ' are unknown types), and
-- so is each currency's rate (logs.sp_Validar_TiposCambio, fed a binary DISTINCT
-- so 'usd' and 'USD' are two currencies). The join to source.TiposCambio keeps
-- the default collation: once every currency has a rate of exactly its
-- spelling, it finds that row and no other (the table's key allows one per
-- currency and date in the default collation).
-- Effects: replaces this ejecución's rows of staging.CAPM_WorkTable. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE staging.CAPM_01_CargarMovimientos_v2
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
    DECLARE @Tipo VARCHAR(20);
    DECLARE @Msg NVARCHAR(2048);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        -- The stage lock before the data checks below, as in the PostgreSQL twin: a re-run of this stage
        -- (a cleared task beside a zombie attempt) cannot change what was checked before it is written.
        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'CAPM';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        -- Exact, as in PostgreSQL: the default collation ignores case and trailing spaces. BIN2 sees case; NOT IN
        -- ignores trailing spaces under every collation, so DATALENGTH compares the value with its RTRIM.
        SELECT @Tipo = MIN(m.TipoMovimiento)
        FROM extract.CAPM AS m
        WHERE
            m.ID_Ejecucion = @ID_Ejecucion
            AND (
                m.TipoMovimiento COLLATE Latin1_General_100_BIN2 NOT IN ('SUSCRIPCION', 'RESCATE')
                OR DATALENGTH(m.TipoMovimiento) <> DATALENGTH(RTRIM(m.TipoMovimiento))
            );
        IF @Tipo IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'unknown capital movement type ', @Tipo, N' in extract.CAPM (ID_Fund ', @ID_Fund,
                    N', ID_Ejecucion ', @ID_Ejecucion, N'): expected SUSCRIPCION or RESCATE'
                );
                THROW 50031, @Msg, 1;
            END;

        SELECT @Base = f.Moneda_Base FROM config.Fondos AS f
        WHERE f.ID_Fund = @ID_Fund;
        SELECT @Monedas = STRING_AGG(m.Moneda, ',')
        FROM (
            -- BIN2: 'usd' and 'USD' stay two currencies to validate, as in PostgreSQL (Moneda is CHAR(3) in both,
            -- whose trailing spaces neither engine compares).
            SELECT DISTINCT m.Moneda COLLATE Latin1_General_100_BIN2 AS Moneda FROM extract.CAPM AS m
            WHERE m.ID_Ejecucion = @ID_Ejecucion
        ) AS m;
        SET @Monedas = CONCAT_WS(',', @Base, @Monedas);
        SET @Contexto = CONCAT(N'CAPM, ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion);
        EXEC logs.sp_Validar_TiposCambio @FechaReporte = @FechaReporte, @Monedas = @Monedas, @Contexto = @Contexto;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.CAPM_WorkTable
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.CAPM_WorkTable (
            ID_Ejecucion, ID_Fund, ID_Movimiento, TipoMovimiento, Moneda, MontoLocal, TipoCambio, MontoBase
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            m.ID_Movimiento,
            m.TipoMovimiento,
            m.Moneda,
            v.MontoLocal,
            v.TipoCambio,
            -- (19,4) x (18,8) = (38,12): exact.
            ROUND(v.MontoLocal * v.TipoCambio, 4)
        FROM extract.CAPM AS m
        INNER JOIN source.TiposCambio AS fl ON fl.FechaReporte = @FechaReporte AND m.Moneda = fl.Moneda
        INNER JOIN source.TiposCambio AS fb ON fb.FechaReporte = @FechaReporte AND fb.Moneda = @Base
        CROSS APPLY (
            VALUES (
                -- MontoLocal: ABS and unary minus keep Monto's (19,4).
                -- The sign's test is case-sensitive too (BIN2); after the check above only the two exact spellings remain.
                CAST(
                    CASE WHEN m.TipoMovimiento COLLATE Latin1_General_100_BIN2 = 'RESCATE' THEN -ABS(m.Monto) ELSE ABS(m.Monto) END
                    AS DECIMAL(19, 4)
                ),
                -- TipoCambio: (19,8) / (19,8) derives (47,28), cut to (38,19); rounded to 8, held as (18,8).
                CAST(ROUND(CAST(fl.TipoCambio AS DECIMAL(19, 8)) / CAST(fb.TipoCambio AS DECIMAL(19, 8)), 8) AS DECIMAL(18, 8))
            )
        ) AS v(MontoLocal, TipoCambio)
        WHERE m.ID_Ejecucion = @ID_Ejecucion;
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
