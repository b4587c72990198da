-- staging.IPA_01_RescatarLocalPrice_v2
-- Rescues each position's local price (the plan's first IPA step, same name
-- and parameters): the price of FechaReporte when the feed has it (MERCADO),
-- else the latest price of the previous 10 days (ANTERIOR), else the unit
-- cost (COSTO). Keeps the latest price before FechaReporte for PNL.
-- Numeric contract (same in the PostgreSQL twin): the unit cost is
-- ROUND(CostoLocal / Cantidad, 6). Its quotient derives (43,24), which SQL
-- Server cuts to (38,19): 19 decimals before the ROUND, held as the price's
-- (19,6) (a unit cost >= 10^13 fails with error 8115; it never rounds).
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_Geneva.
-- Effects: replaces this ejecución's rows of staging.IPA_Precios. Returns Filas.
-- Collation (SQL Server): the joins on Portfolio and ID_Instrumento and the
-- portfolio filter compare with the default collation (case- and
-- trailing-space-insensitive), PostgreSQL's exactly; they match the same rows.
-- IPA_00 wrote both tables from the same feed rows and refused the feed when
-- it spelled the portfolio differently or priced a position under another
-- spelling of its code, so extract.IPA's and extract.PosModRF's codes are equal
-- byte for byte, and @Portfolio_Geneva is the value IPA_00 was given.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE staging.IPA_01_RescatarLocalPrice_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @Portfolio_Geneva VARCHAR(50)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.IPA_Precios
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO staging.IPA_Precios (
            ID_Ejecucion, ID_Fund, ID_Instrumento, Moneda, PrecioLocal, FuentePrecio, FechaPrecio, PrecioAnterior
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            i.ID_Instrumento,
            i.Moneda,
            COALESCE(
                hoy.Precio,
                ant.Precio,
                -- (19,4) / (19,4) derives (43,24), cut to (38,19); rounded to 6, held as (19,6).
                CAST(ROUND(CAST(i.CostoLocal AS DECIMAL(19, 4)) / CAST(NULLIF(i.Cantidad, 0) AS DECIMAL(19, 4)), 6) AS DECIMAL(19, 6)),
                0
            ),
            CASE
                WHEN hoy.Precio IS NOT NULL THEN 'MERCADO'
                WHEN ant.Precio IS NOT NULL THEN 'ANTERIOR'
                ELSE 'COSTO'
            END,
            COALESCE(hoy.FechaPrecio, ant.FechaPrecio),
            ant.Precio
        FROM extract.IPA AS i
        LEFT JOIN extract.PosModRF AS hoy
            ON
                i.ID_Ejecucion = hoy.ID_Ejecucion
                AND i.Portfolio = hoy.Portfolio
                AND i.ID_Instrumento = hoy.ID_Instrumento
                AND hoy.FechaPrecio = @FechaReporte
        OUTER APPLY (
            SELECT TOP (1)
                m.Precio,
                m.FechaPrecio
            FROM extract.PosModRF AS m
            WHERE
                m.ID_Ejecucion = i.ID_Ejecucion
                AND m.Portfolio = i.Portfolio
                AND m.ID_Instrumento = i.ID_Instrumento
                AND m.FechaPrecio < @FechaReporte
            ORDER BY m.FechaPrecio DESC
        ) AS ant
        WHERE i.ID_Ejecucion = @ID_Ejecucion AND i.Portfolio = @Portfolio_Geneva;
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
