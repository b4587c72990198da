-- extract.UBS_00_Extraer_v2
-- Extract step of UBS for one fund: copies the custodian's holdings of the
-- fund's account for FechaReporte into extract.UBS under its own
-- ID_Ejecucion. Fails when the custodian file for that account and date has
-- not arrived (no rows): reconciling against nothing would report every
-- position as a break.
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund, @Portfolio_UBS (the custodian account).
-- Returns Filas, the rows written.
-- Collation (SQL Server): the account filter here and UBS_02's join of the
-- custodian's instruments to the accounting positions compare with the
-- database's default collation, which ignores case and trailing spaces;
-- PostgreSQL compares exactly. Both are kept (an exact predicate would not seek
-- the keys); instead, before copying, the call fails (50032, nothing written)
-- when they would match rows PostgreSQL would not: holdings of the date under
-- another spelling of the account ('ubs-1' or 'UBS-1 ' for 'UBS-1'), or a
-- holding whose instrument code differs only in case or trailing spaces from
-- one of the fund's positions in extract.IPA (this ejecución's, written by
-- the IPA stage this one waits for): 'abc' held for the position 'ABC' would
-- reconcile as CUADRA here and as SOLO_CONTABLE plus SOLO_CUSTODIO in
-- PostgreSQL. Nothing else can match differently: the feed's key (Cuenta,
-- FechaReporte, ID_Instrumento), in the default collation, cannot hold two
-- codes that differ only in case or trailing spaces within one account and
-- date (so UBS_01's GROUP BY sums the same lots in both engines), and neither
-- can extract.IPA's source key within one portfolio and date.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE extract.UBS_00_Extraer_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT,
    @Portfolio_UBS VARCHAR(50)
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
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'UBS';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        IF
            NOT EXISTS (
                SELECT 1 FROM source.UBS_Custodia AS s
                WHERE s.Cuenta = @Portfolio_UBS AND s.FechaReporte = @FechaReporte
            )
            BEGIN
                SET @Msg = CONCAT(
                    N'missing source data: no custodian holdings in source.UBS_Custodia for account ', @Portfolio_UBS, N' on ',
                    CONVERT(CHAR(10), @FechaReporte, 23), N' (ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50030, @Msg, 1;
            END;

        -- Rows the default collation would copy for this account and PostgreSQL would not (see the header).
        -- BIN2 sees case; <> ignores trailing spaces under every collation, so DATALENGTH compares those.
        SELECT @Codigos = STRING_AGG(CAST(d.Codigo AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY d.Codigo)
        FROM (
            SELECT DISTINCT QUOTENAME(s.Cuenta, '''') COLLATE Latin1_General_100_BIN2 AS Codigo
            FROM source.UBS_Custodia AS s
            WHERE
                s.Cuenta = @Portfolio_UBS
                AND s.FechaReporte = @FechaReporte
                AND (
                    s.Cuenta COLLATE Latin1_General_100_BIN2 <> @Portfolio_UBS
                    OR DATALENGTH(s.Cuenta) <> DATALENGTH(@Portfolio_UBS)
                )
        ) AS d;
        IF @Codigos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'ambiguous source data: source.UBS_Custodia spells account ', QUOTENAME(@Portfolio_UBS, ''''),
                    N' as ', LEFT(@Codigos, 1000),
                    N' on ', CONVERT(CHAR(10), @FechaReporte, 23), N'; SQL Server''s collation would take those rows for this fund, ',
                    N'PostgreSQL would not (case, trailing spaces). Correct the feed, then run the stage again (ID_Fund ', @ID_Fund,
                    N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50032, @Msg, 1;
            END;

        -- Holdings the default collation would reconcile with a position of another spelling (position ~ holding).
        SELECT @Codigos = STRING_AGG(CAST(d.Par AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY d.Par)
        FROM (
            SELECT
                CONCAT(QUOTENAME(i.ID_Instrumento, ''''), N' ~ ', QUOTENAME(u.ID_Instrumento, ''''))
                COLLATE Latin1_General_100_BIN2 AS Par
            FROM source.UBS_Custodia AS u
            INNER JOIN extract.IPA AS i ON u.ID_Instrumento = i.ID_Instrumento
            WHERE
                u.Cuenta = @Portfolio_UBS
                AND u.FechaReporte = @FechaReporte
                AND i.ID_Ejecucion = @ID_Ejecucion
                AND (
                    i.ID_Instrumento COLLATE Latin1_General_100_BIN2 <> u.ID_Instrumento
                    OR DATALENGTH(i.ID_Instrumento) <> DATALENGTH(u.ID_Instrumento)
                )
        ) AS d;
        IF @Codigos IS NOT NULL
            BEGIN
                SET @Msg = CONCAT(
                    N'ambiguous source data: source.UBS_Custodia spells instruments of account ', QUOTENAME(@Portfolio_UBS, ''''),
                    N' on ', CONVERT(CHAR(10), @FechaReporte, 23), N' differently from the fund''s positions in extract.IPA ',
                    N'(position ~ holding): ', LEFT(@Codigos, 1000), N'; SQL Server''s collation would reconcile them as one ',
                    N'instrument, PostgreSQL would not (case, trailing spaces). Correct the feed, then run the stage again ',
                    N'(ID_Fund ', @ID_Fund, N', ID_Ejecucion ', @ID_Ejecucion, N')'
                );
                THROW 50032, @Msg, 1;
            END;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM extract.UBS
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        INSERT INTO extract.UBS (ID_Ejecucion, FechaReporte, Cuenta, ID_Instrumento, Cantidad)
        SELECT
            @ID_Ejecucion,
            u.FechaReporte,
            u.Cuenta,
            u.ID_Instrumento,
            u.Cantidad
        FROM source.UBS_Custodia AS u
        WHERE u.Cuenta = @Portfolio_UBS AND u.FechaReporte = @FechaReporte;
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
