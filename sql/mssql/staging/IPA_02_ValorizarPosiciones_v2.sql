-- staging.IPA_02_ValorizarPosiciones_v2
-- Values each position: market value in local currency (quantity x rescued
-- price) and in the fund's base currency (x the day's rate local/base).
-- Numeric contract (the same in the PostgreSQL twin and in the tests' oracle):
--   ValorMercadoLocal = ROUND(Cantidad x PrecioLocal, 4)
--   TipoCambio        = ROUND(rate(local) / rate(base), 8)
--   ValorMercadoBase  = ROUND(ValorMercadoLocal x TipoCambio, 4)
-- Casts keep every product within precision 38 so SQL Server never cuts its
-- scale (which rounds silently, a second time): each product is exact before
-- its one ROUND. The rate quotient is cut to (38,19): 19 decimals before its
-- ROUND to 8. Beyond the casts' range (Cantidad >= 10^14, rate >= 10^10) the
-- step fails with error 8115 (arithmetic overflow); it never rounds.
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Fails when a currency has no rate for the date.
-- Collation (SQL Server): the joins compare with the default collation (case-
-- and trailing-space-insensitive), PostgreSQL's exactly; they match the same
-- rows. ID_Instrumento: staging.IPA_Precios holds IPA_01's copies of
-- extract.IPA's codes. Moneda: the rates are validated in exact case
-- (logs.sp_Validar_TiposCambio, fed a binary DISTINCT: two positions in 'usd'
-- and 'USD' are two currencies, as in PostgreSQL), and source.TiposCambio's
-- key allows one row per currency and date in the default collation, so the
-- join finds the exactly spelled rate and no other. CHAR(3) trailing spaces
-- are compared by neither engine.
-- Effects: replaces this ejecución's rows of staging.IPA_WorkTable. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

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

        -- The stage lock before the data checks below, as in the PostgreSQL twin: a re-run of this stage
        -- (a cleared task beside a zombie attempt) cannot change what was checked before it is written.
        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Base = f.Moneda_Base FROM config.Fondos AS f
        WHERE f.ID_Fund = @ID_Fund;
        SELECT @Monedas = STRING_AGG(m.Moneda, ',')
        FROM (
            -- BIN2: 'usd' and 'USD' stay two currencies to validate, as in PostgreSQL.
            SELECT DISTINCT i.Moneda COLLATE Latin1_General_100_BIN2 AS Moneda FROM extract.IPA AS i
            WHERE i.ID_Ejecucion = @ID_Ejecucion
        ) AS m;
        SET @Monedas = CONCAT_WS(',', @Base, @Monedas);
        SET @Contexto = CONCAT(N'IPA, ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion);
        EXEC logs.sp_Validar_TiposCambio @FechaReporte = @FechaReporte, @Monedas = @Monedas, @Contexto = @Contexto;

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
            v.ValorLocal,
            v.TipoCambio,
            -- (19,4) x (18,8) = (38,12): exact, from the rounded local value.
            ROUND(v.ValorLocal * v.TipoCambio, 4)
        FROM extract.IPA AS i
        INNER JOIN staging.IPA_Precios AS pr
            ON i.ID_Ejecucion = pr.ID_Ejecucion AND pr.ID_Fund = @ID_Fund AND i.ID_Instrumento = pr.ID_Instrumento
        INNER JOIN source.TiposCambio AS fl ON fl.FechaReporte = @FechaReporte AND i.Moneda = fl.Moneda
        INNER JOIN source.TiposCambio AS fb ON fb.FechaReporte = @FechaReporte AND fb.Moneda = @Base
        CROSS APPLY (
            VALUES (
                -- ValorLocal: (18,4) x (19,6) = (38,10), exact; stored as (19,4).
                CAST(ROUND(CAST(i.Cantidad AS DECIMAL(18, 4)) * pr.PrecioLocal, 4) AS DECIMAL(19, 4)),
                -- TipoCambio: (19,8) / (19,8) derives (47,28), cut to (38,19); rounded to 8, held as (18,8).
                CAST(ROUND(CAST(fl.TipoCambio AS DECIMAL(19, 8)) / CAST(fb.TipoCambio AS DECIMAL(19, 8)), 8) AS DECIMAL(18, 8))
            )
        ) AS v(ValorLocal, TipoCambio)
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
