-- extract.IPA_00_Extraer_v2
-- Extract step of IPA for one fund: copies the fund's Geneva positions
-- (extract.IPA), cash (extract.SONA) and the last 10 days of prices of the
-- instruments it holds (extract.PosModRF) for FechaReporte, under the fund's
-- own ID_Ejecucion. Each run replaces its earlier rows: re-running gives the same rows.
-- Holds the (IPA, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_Geneva.
-- Fails when the feed has no positions for the portfolio and date.
-- Collation (SQL Server): the portfolio filters and the positions-to-prices
-- join compare with the database's default collation, which ignores case and
-- trailing spaces; PostgreSQL compares exactly. They are kept (an exact
-- predicate would not seek the feeds' keys); instead, before copying, the call
-- fails (50032, nothing written) when they would match rows PostgreSQL would
-- not: positions or cash of another spelling of the portfolio ('lafid002' or
-- 'LAFID002 ' for 'LAFID002'), or a price of the window whose instrument code
-- differs from the position's only in case or trailing spaces ('abc' priced
-- for the position 'ABC'). Nothing else can match differently: the feeds' keys
-- (Portfolio, FechaReporte, ID_Instrumento), (ID_Instrumento, FechaReporte)
-- and (Portfolio, FechaReporte, Moneda), in the default collation, cannot hold
-- two codes that differ only in case or trailing spaces within one portfolio
-- and date, and later steps join copies of these codes only (IPA_01, IPA_02,
-- PNL_01) or validate currencies exactly (logs.sp_Validar_TiposCambio).
-- Returns Filas, the rows written.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE extract.IPA_00_Extraer_v2
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
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Codigos NVARCHAR(MAX);

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        -- The stage lock before the data checks below, as in the PostgreSQL twin: a re-run of this stage
        -- (a cleared task beside a zombie attempt) cannot change what was checked before it is written.
        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'IPA';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        IF
            NOT EXISTS (
                SELECT 1 FROM source.Geneva_Posiciones AS s
                WHERE s.Portfolio = @Portfolio_Geneva AND s.FechaReporte = @FechaReporte
            )
            BEGIN
                SET @Msg = CONCAT(
                    N'missing source data: no positions in source.Geneva_Posiciones for portfolio ', @Portfolio_Geneva, N' on ',
                    CONVERT(CHAR(10), @FechaReporte, 23), N' (ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50030, @Msg, 1;
            END;

        -- Rows the default collation would copy for this portfolio and PostgreSQL would not (see the header).
        -- BIN2 sees case; <> ignores trailing spaces under every collation, so DATALENGTH compares those.
        SELECT @Codigos = STRING_AGG(CAST(d.Codigo AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY d.Codigo)
        FROM (
            SELECT QUOTENAME(s.Portfolio, '''') COLLATE Latin1_General_100_BIN2 AS Codigo
            FROM source.Geneva_Posiciones AS s
            WHERE
                s.Portfolio = @Portfolio_Geneva
                AND s.FechaReporte = @FechaReporte
                AND (
                    s.Portfolio COLLATE Latin1_General_100_BIN2 <> @Portfolio_Geneva
                    OR DATALENGTH(s.Portfolio) <> DATALENGTH(@Portfolio_Geneva)
                )
            UNION
            SELECT QUOTENAME(c.Portfolio, '''')
            FROM source.Geneva_Caja AS c
            WHERE
                c.Portfolio = @Portfolio_Geneva
                AND c.FechaReporte = @FechaReporte
                AND (
                    c.Portfolio COLLATE Latin1_General_100_BIN2 <> @Portfolio_Geneva
                    OR DATALENGTH(c.Portfolio) <> DATALENGTH(@Portfolio_Geneva)
                )
        ) AS d;
        IF @Codigos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'ambiguous source data: source.Geneva_Posiciones or source.Geneva_Caja spells portfolio ',
                    QUOTENAME(@Portfolio_Geneva, ''''), N' as ', LEFT(@Codigos, 1000), N' on ', CONVERT(CHAR(10), @FechaReporte, 23),
                    N'; SQL Server''s collation would take those rows for this fund, PostgreSQL would not (case, trailing ',
                    N'spaces). Correct the feed, then run the stage again (ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50032, @Msg, 1;
            END;

        -- Prices the default collation would join to a position of another spelling (position ~ price).
        SELECT @Codigos = STRING_AGG(CAST(d.Par AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY d.Par)
        FROM (
            SELECT DISTINCT
                CONCAT(QUOTENAME(s.ID_Instrumento, ''''), N' ~ ', QUOTENAME(pr.ID_Instrumento, ''''))
                COLLATE Latin1_General_100_BIN2 AS Par
            FROM source.Geneva_Posiciones AS s
            INNER JOIN source.Geneva_Precios AS pr
                ON
                    s.ID_Instrumento = pr.ID_Instrumento
                    AND pr.FechaReporte BETWEEN DATEADD(DAY, -10, @FechaReporte) AND @FechaReporte
            WHERE
                s.Portfolio = @Portfolio_Geneva
                AND s.FechaReporte = @FechaReporte
                AND (
                    s.ID_Instrumento COLLATE Latin1_General_100_BIN2 <> pr.ID_Instrumento
                    OR DATALENGTH(s.ID_Instrumento) <> DATALENGTH(pr.ID_Instrumento)
                )
        ) AS d;
        IF @Codigos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'ambiguous source data: source.Geneva_Precios between ', CONVERT(CHAR(10), DATEADD(DAY, -10, @FechaReporte), 23),
                    N' and ', CONVERT(CHAR(10), @FechaReporte, 23), N' spells instruments held by portfolio ',
                    QUOTENAME(@Portfolio_Geneva, ''''), N' differently (position ~ price): ', LEFT(@Codigos, 1000),
                    N'; SQL Server''s collation would price the positions with them, PostgreSQL would not (case, trailing ',
                    N'spaces). Correct the feed, then run the stage again (ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50032, @Msg, 1;
            END;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.IPA
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.SONA
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.PosModRF
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO extract.IPA (
            ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, Moneda, Cantidad, CostoLocal
        )
        SELECT
            @ID_Ejecucion,
            s.FechaReporte,
            s.Portfolio,
            s.ID_Instrumento,
            s.Tipo_Instrumento,
            s.Moneda,
            s.Cantidad,
            s.CostoLocal
        FROM source.Geneva_Posiciones AS s
        WHERE s.Portfolio = @Portfolio_Geneva AND s.FechaReporte = @FechaReporte;
        SET @Filas = @@ROWCOUNT;

        INSERT INTO extract.SONA (ID_Ejecucion, FechaReporte, Portfolio, Moneda, Saldo)
        SELECT
            @ID_Ejecucion,
            c.FechaReporte,
            c.Portfolio,
            c.Moneda,
            c.Saldo
        FROM source.Geneva_Caja AS c
        WHERE c.Portfolio = @Portfolio_Geneva AND c.FechaReporte = @FechaReporte;
        SET @Filas += @@ROWCOUNT;

        INSERT INTO extract.PosModRF (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, FechaPrecio, Precio)
        SELECT
            @ID_Ejecucion,
            @FechaReporte,
            @Portfolio_Geneva,
            pr.ID_Instrumento,
            pr.FechaReporte,
            pr.Precio
        FROM source.Geneva_Posiciones AS s
        INNER JOIN source.Geneva_Precios AS pr
            ON
                s.ID_Instrumento = pr.ID_Instrumento
                AND pr.FechaReporte BETWEEN DATEADD(DAY, -10, @FechaReporte) AND @FechaReporte
        WHERE s.Portfolio = @Portfolio_Geneva AND s.FechaReporte = @FechaReporte;
        SET @Filas += @@ROWCOUNT;

        COMMIT TRANSACTION;
    END TRY
    BEGIN CATCH
        IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
        THROW;
    END CATCH;

    SELECT @Filas AS Filas;
END;
GO
