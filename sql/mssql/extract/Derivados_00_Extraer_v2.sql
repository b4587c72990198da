-- extract.Derivados_00_Extraer_v2
-- Extract step of Derivados for one fund: copies the fund's open derivative
-- contracts of FechaReporte into extract.Derivados under its own
-- ID_Ejecucion. A day without open contracts writes no rows.
-- Holds the (Derivados, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_Derivados.
-- Returns Filas, the rows written.
-- Collation (SQL Server): the portfolio filter compares with the database's
-- default collation, which ignores case and trailing spaces; PostgreSQL
-- compares exactly. It is kept (an exact predicate would not seek the feed's
-- key); instead, before copying, the call fails (50032, nothing written) when
-- the feed has contracts of the date under another spelling of the portfolio
-- ('lafid002' or 'LAFID002 ' for 'LAFID002'), which PostgreSQL would not copy.
-- Nothing else can match differently: the feed's key (Portfolio, FechaReporte,
-- ID_Contrato), in the default collation, cannot hold two contract ids that
-- differ only in case or trailing spaces within one portfolio and date, and no
-- step joins on them; Derivados_01 checks the legs' rates exactly.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE extract.Derivados_00_Extraer_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @Portfolio_Derivados VARCHAR(50)
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
            SELECT DISTINCT QUOTENAME(d.Portfolio, '''') COLLATE Latin1_General_100_BIN2 AS Codigo
            FROM source.Derivados_Contratos AS d
            WHERE
                d.Portfolio = @Portfolio_Derivados
                AND d.FechaReporte = @FechaReporte
                AND (
                    d.Portfolio COLLATE Latin1_General_100_BIN2 <> @Portfolio_Derivados
                    OR DATALENGTH(d.Portfolio) <> DATALENGTH(@Portfolio_Derivados)
                )
        ) AS d;
        IF @Codigos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'ambiguous source data: source.Derivados_Contratos spells portfolio ', QUOTENAME(@Portfolio_Derivados, ''''),
                    N' as ', LEFT(@Codigos, 1000),
                    N' on ', CONVERT(CHAR(10), @FechaReporte, 23), N'; SQL Server''s collation would take those rows for this fund, ',
                    N'PostgreSQL would not (case, trailing spaces). Correct the feed, then run the stage again (ID_Fund ', @ID_Fund,
                    N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50032, @Msg, 1;
            END;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'Derivados';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.Derivados
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO extract.Derivados (
            ID_Ejecucion, FechaReporte, Portfolio, ID_Contrato, Tipo_Derivado,
            MonedaCompra, MontoCompra, MonedaVenta, MontoVenta, FechaVencimiento
        )
        SELECT
            @ID_Ejecucion,
            d.FechaReporte,
            d.Portfolio,
            d.ID_Contrato,
            d.Tipo_Derivado,
            d.MonedaCompra,
            d.MontoCompra,
            d.MonedaVenta,
            d.MontoVenta,
            d.FechaVencimiento
        FROM source.Derivados_Contratos AS d
        WHERE d.Portfolio = @Portfolio_Derivados AND d.FechaReporte = @FechaReporte;
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
