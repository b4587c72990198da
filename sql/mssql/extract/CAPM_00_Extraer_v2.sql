-- extract.CAPM_00_Extraer_v2
-- Extract step of CAPM for one fund: copies the fund's capital movements of
-- FechaReporte (subscriptions, redemptions) into extract.CAPM under its own
-- ID_Ejecucion. A day without movements is normal and writes no rows.
-- Holds the (CAPM, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_CAPM.
-- Returns Filas, the rows written.
-- Collation (SQL Server): the portfolio filter compares with the database's
-- default collation, which ignores case and trailing spaces; PostgreSQL
-- compares exactly. It is kept (an exact predicate would not seek the feed's
-- key); instead, before copying, the call fails (50032, nothing written) when
-- the feed has movements of the date under another spelling of the portfolio
-- ('lafid002' or 'LAFID002 ' for 'LAFID002'), which PostgreSQL would not copy.
-- Nothing else can match differently: the feed's key (Portfolio, FechaReporte,
-- ID_Movimiento), in the default collation, cannot hold two movement ids that
-- differ only in case or trailing spaces within one portfolio and date, and no
-- step joins on them; CAPM_01 checks TipoMovimiento and the currencies' rates
-- exactly.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE extract.CAPM_00_Extraer_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @Portfolio_CAPM VARCHAR(50)
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

        -- Rows the default collation would copy for this portfolio and PostgreSQL would not (see the header).
        -- BIN2 sees case; <> ignores trailing spaces under every collation, so DATALENGTH compares those.
        SELECT @Codigos = STRING_AGG(CAST(d.Codigo AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY d.Codigo)
        FROM (
            SELECT DISTINCT QUOTENAME(m.Portfolio, '''') COLLATE Latin1_General_100_BIN2 AS Codigo
            FROM source.CAPM_Movimientos AS m
            WHERE
                m.Portfolio = @Portfolio_CAPM
                AND m.FechaReporte = @FechaReporte
                AND (
                    m.Portfolio COLLATE Latin1_General_100_BIN2 <> @Portfolio_CAPM
                    OR DATALENGTH(m.Portfolio) <> DATALENGTH(@Portfolio_CAPM)
                )
        ) AS d;
        IF @Codigos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'ambiguous source data: source.CAPM_Movimientos spells portfolio ', QUOTENAME(@Portfolio_CAPM, ''''),
                    N' as ', LEFT(@Codigos, 1000),
                    N' on ', CONVERT(CHAR(10), @FechaReporte, 23), N'; SQL Server''s collation would take those rows for this fund, ',
                    N'PostgreSQL would not (case, trailing spaces). Correct the feed, then run the stage again (ID_Fund ', @ID_Fund,
                    N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50032, @Msg, 1;
            END;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'CAPM';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.CAPM
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO extract.CAPM (ID_Ejecucion, FechaReporte, Portfolio, ID_Movimiento, TipoMovimiento, Moneda, Monto)
        SELECT
            @ID_Ejecucion,
            m.FechaReporte,
            m.Portfolio,
            m.ID_Movimiento,
            m.TipoMovimiento,
            m.Moneda,
            m.Monto
        FROM source.CAPM_Movimientos AS m
        WHERE m.Portfolio = @Portfolio_CAPM AND m.FechaReporte = @FechaReporte;
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
