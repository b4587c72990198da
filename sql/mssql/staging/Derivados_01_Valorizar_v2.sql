-- staging.Derivados_01_Valorizar_v2
-- Values each FX forward or swap in the fund's base currency: both legs at
-- the day's rates, fair value = bought leg - sold leg, and days to maturity.
-- Numeric contract (same in the PostgreSQL twin): leg base = ROUND(amount x
-- ROUND(rate(leg) / rate(base), 8), 4), the same rate rounding as every other
-- conversion; fair value = bought leg base - sold leg base.
-- Casts keep every product within precision 38 so SQL Server never cuts its
-- scale: (19,4) x (18,8) = (38,12), exact before its one ROUND. Each rate
-- quotient is cut to (38,19): 19 decimals before its ROUND to 8. Beyond the
-- casts' range (rate >= 10^10) the step fails with error 8115 (arithmetic
-- overflow); it never rounds.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund.
-- Fails when a currency has no rate for the date.
-- Collation (SQL Server): the joins to source.TiposCambio compare with the
-- default collation (case-insensitive), PostgreSQL's exactly; they match the
-- same rows because the rates are validated in exact case first
-- (logs.sp_Validar_TiposCambio, fed a binary UNION: legs in 'usd' and 'USD'
-- are two currencies, as in PostgreSQL) and the table's key allows one row per
-- currency and date in the default collation. CHAR(3) trailing spaces are
-- compared by neither engine.
-- Effects: replaces this ejecución's rows of staging.Derivados_WorkTable. Returns Filas.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

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

        -- The stage lock before the data checks below, as in the PostgreSQL twin: a re-run of this stage
        -- (a cleared task beside a zombie attempt) cannot change what was checked before it is written.
        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        SELECT @Base = f.Moneda_Base FROM config.Fondos AS f
        WHERE f.ID_Fund = @ID_Fund;
        SELECT @Monedas = STRING_AGG(m.Moneda, ',')
        FROM
            (
                -- BIN2 (explicit, so the UNION's): 'usd' and 'USD' stay two currencies to validate, as in PostgreSQL.
                SELECT d.MonedaCompra COLLATE Latin1_General_100_BIN2 AS Moneda FROM extract.Derivados AS d
                WHERE d.ID_Ejecucion = @ID_Ejecucion
                UNION
                SELECT d.MonedaVenta FROM extract.Derivados AS d
                WHERE d.ID_Ejecucion = @ID_Ejecucion
            ) AS m;
        SET @Monedas = CONCAT_WS(',', @Base, @Monedas);
        SET @Contexto = CONCAT(N'Derivados, ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion);
        EXEC logs.sp_Validar_TiposCambio @FechaReporte = @FechaReporte, @Monedas = @Monedas, @Contexto = @Contexto;

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
            v.CompraBase,
            d.MonedaVenta,
            v.VentaBase,
            -- (19,4) - (19,4) = (20,4): exact.
            v.CompraBase - v.VentaBase,
            DATEDIFF(DAY, @FechaReporte, d.FechaVencimiento)
        FROM extract.Derivados AS d
        INNER JOIN source.TiposCambio AS fc ON fc.FechaReporte = @FechaReporte AND d.MonedaCompra = fc.Moneda
        INNER JOIN source.TiposCambio AS fv ON fv.FechaReporte = @FechaReporte AND d.MonedaVenta = fv.Moneda
        INNER JOIN source.TiposCambio AS fb ON fb.FechaReporte = @FechaReporte AND fb.Moneda = @Base
        CROSS APPLY (
            -- Each leg's rate: (19,8) / (19,8) derives (47,28), cut to (38,19); rounded to 8, held as (18,8).
            VALUES (
                CAST(ROUND(CAST(fc.TipoCambio AS DECIMAL(19, 8)) / CAST(fb.TipoCambio AS DECIMAL(19, 8)), 8) AS DECIMAL(18, 8)),
                CAST(ROUND(CAST(fv.TipoCambio AS DECIMAL(19, 8)) / CAST(fb.TipoCambio AS DECIMAL(19, 8)), 8) AS DECIMAL(18, 8))
            )
        ) AS r(TipoCambioCompra, TipoCambioVenta)
        CROSS APPLY (
            -- Each leg in base currency: (19,4) x (18,8) = (38,12), exact; stored as (19,4).
            VALUES (
                CAST(ROUND(CAST(d.MontoCompra AS DECIMAL(19, 4)) * r.TipoCambioCompra, 4) AS DECIMAL(19, 4)),
                CAST(ROUND(CAST(d.MontoVenta AS DECIMAL(19, 4)) * r.TipoCambioVenta, 4) AS DECIMAL(19, 4))
            )
        ) AS v(CompraBase, VentaBase)
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
