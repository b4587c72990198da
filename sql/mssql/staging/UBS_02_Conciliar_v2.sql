-- staging.UBS_02_Conciliar_v2
-- Reconciles accounting quantities (IPA) with the custodian's (UBS) per
-- instrument: CUADRA (equal), DIFERENCIA, SOLO_CONTABLE (custodian lacks it),
-- SOLO_CUSTODIO (accounting lacks it). Every row not CUADRA is a break.
-- Holds the (UBS, ID_Ejecucion) lock for the whole call (logs.sp_Bloquear_Ejecucion).
-- Checks the ejecución first (logs.sp_Validar_Ejecucion, 50001: fails fast before any work) and again
-- once it holds the lock: a revert, or the removal of the proceso, may have committed while it waited.
-- Parameters: @ID_Ejecucion, @FechaReporte, @ID_Fund. Needs IPA.
-- Effects: replaces this ejecución's rows of staging.UBS_Reconciliacion. Returns Filas.
-- Collation (SQL Server): the FULL OUTER JOIN on ID_Instrumento compares with
-- the default collation, which ignores case and trailing spaces; PostgreSQL
-- compares exactly, so a custodian 'abc' or 'ABC ' would be CUADRA with the
-- position 'ABC' here and two breaks there. It is kept (an exact predicate
-- would change the join's plan); UBS_00 refuses such a feed before copying it
-- (50032). Each side's codes are distinct in the default collation (the feeds'
-- keys), so the join otherwise pairs the same rows as PostgreSQL's.
-- Deletes run in batches of 4,000 rows (below the 5,000-lock escalation
-- threshold), each a seek on the ID_Ejecucion-first clustered index.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE staging.UBS_02_Conciliar_v2
    @ID_Ejecucion BIGINT,
    @FechaReporte DATE,
    @ID_Fund INT
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Filas INT;
    DECLARE @Lote INT = 4000;

    BEGIN TRY
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        BEGIN TRANSACTION;
        EXEC logs.sp_Bloquear_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @Etapa = 'UBS';
        EXEC logs.sp_Validar_Ejecucion @ID_Ejecucion = @ID_Ejecucion, @FechaReporte = @FechaReporte, @ID_Fund = @ID_Fund;

        WHILE 1 = 1
            BEGIN
                DELETE TOP (@Lote) FROM staging.UBS_Reconciliacion
                WHERE ID_Ejecucion = @ID_Ejecucion;
                IF @@ROWCOUNT < @Lote BREAK;
            END;

        WITH u AS (
            SELECT
                x.ID_Instrumento,
                x.CantidadCustodio
            FROM staging.UBS_WorkTable AS x
            WHERE x.ID_Ejecucion = @ID_Ejecucion
        )

        INSERT INTO staging.UBS_Reconciliacion (
            ID_Ejecucion, ID_Fund, ID_Instrumento, CantidadContable, CantidadCustodio, Diferencia, Estado_Conciliacion
        )
        SELECT
            @ID_Ejecucion,
            @ID_Fund,
            COALESCE(c.ID_Instrumento, u.ID_Instrumento),
            ISNULL(c.Cantidad, 0),
            ISNULL(u.CantidadCustodio, 0),
            ISNULL(u.CantidadCustodio, 0) - ISNULL(c.Cantidad, 0),
            CASE
                WHEN c.ID_Instrumento IS NULL THEN 'SOLO_CUSTODIO'
                WHEN u.ID_Instrumento IS NULL THEN 'SOLO_CONTABLE'
                WHEN c.Cantidad = u.CantidadCustodio THEN 'CUADRA'
                ELSE 'DIFERENCIA'
            END
        FROM (
            SELECT
                w.ID_Instrumento,
                w.Cantidad
            FROM staging.IPA_WorkTable AS w
            WHERE w.ID_Ejecucion = @ID_Ejecucion
        ) AS c
        FULL OUTER JOIN u ON c.ID_Instrumento = u.ID_Instrumento;
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
