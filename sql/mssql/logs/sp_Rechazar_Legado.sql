-- logs.sp_Rechazar_Legado
-- Guard of every routine that changes a proceso, an ejecución or their rows:
-- legacy history is read-only. A legacy ejecución (Legado, or a run the legacy
-- v2 backend wrote without ID_Proceso) is shared by every fund of its run, so
-- deleting or rewriting by its id on behalf of one fund would touch them all.
-- Parameters: @ID_Proceso or @ID_Ejecucion (the other NULL); @Accion (what was
-- asked, for the message). Raises 50040 when the target is legacy; does
-- nothing otherwise (unknown ids are left to the caller's own message).
-- Only reads, opens no transaction and returns no result set, so it can be
-- called first thing or inside a caller's transaction (whose CATCH rolls
-- back). The three branches below are the PostgreSQL twin's one condition
-- (COALESCE(ID_Proceso, ID_Ejecucion) = @ID_Proceso), split so that each is
-- an index seek: it runs on every stage update.
-- Created with ANSI_NULLS and QUOTED_IDENTIFIER ON, whatever the deploying client: a module keeps both,
-- and writes to the filtered indexes of 012, 013 and 019 need them (error 1934; sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).
SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
GO

CREATE OR ALTER PROCEDURE logs.sp_Rechazar_Legado
    @ID_Proceso BIGINT,
    @ID_Ejecucion BIGINT,
    @Accion NVARCHAR(200)
AS
BEGIN
    SET NOCOUNT ON;
    SET XACT_ABORT ON;

    DECLARE @Ejecucion BIGINT;
    DECLARE @Fecha DATE;
    DECLARE @Fondos INT;
    DECLARE @Msg NVARCHAR(2048);

    SELECT TOP (1)
        @Ejecucion = l.ID_Ejecucion,
        @Fecha = l.FechaReporte
    FROM (
        -- the ejecución asked for, if it is legacy
        SELECT
            e.ID_Ejecucion,
            e.FechaReporte
        FROM logs.Ejecuciones AS e
        WHERE
            @ID_Ejecucion IS NOT NULL
            AND e.ID_Ejecucion = @ID_Ejecucion
            AND (e.Legado = 1 OR e.ID_Proceso IS NULL)
        UNION ALL
        -- a backfilled (Legado) ejecución of the proceso asked for
        SELECT
            e.ID_Ejecucion,
            e.FechaReporte
        FROM logs.Ejecuciones AS e
        WHERE
            @ID_Proceso IS NOT NULL
            AND e.ID_Proceso = @ID_Proceso
            AND e.Legado = 1
        UNION ALL
        -- a legacy v2 run not yet backfilled, shown as the proceso of its own id
        SELECT
            e.ID_Ejecucion,
            e.FechaReporte
        FROM logs.Ejecuciones AS e
        WHERE
            @ID_Proceso IS NOT NULL
            AND e.ID_Ejecucion = @ID_Proceso
            AND e.ID_Proceso IS NULL
    ) AS l
    ORDER BY l.ID_Ejecucion;

    IF @Ejecucion IS NULL
        RETURN;

    SELECT @Fondos = COUNT(*)
    FROM logs.Ejecucion_Fondos AS f
    WHERE f.ID_Ejecucion = @Ejecucion;

    SET @Msg = CONCAT(
        @Accion, N' refused: ', CASE WHEN @ID_Ejecucion IS NOT NULL THEN N'ID_Ejecucion' ELSE N'ID_Proceso' END, N' ',
        COALESCE(@ID_Ejecucion, @ID_Proceso), N' is legacy history (the run of ', CONVERT(CHAR(10), @Fecha, 23),
        N' written by the legacy backend; its ID_Ejecucion ', @Ejecucion, N' is shared by ', @Fondos,
        N' fund row(s)). Legacy runs are read-only and nothing was changed. To process that date again, trigger ',
        N'procesos_diarios with fecha=', CONVERT(CHAR(10), @Fecha, 23),
        N': the new proceso gets its own ids and leaves the history as it is.'
    );
    THROW 50040, @Msg, 1;
END;
GO
