-- 015_BACKFILL_ID_PROCESO
-- Gives every historical ejecución a parent proceso (plan, FASE 1.4).
--
-- A legacy ejecución was one report-date run shared by all its funds, which is
-- what a proceso is now, so each becomes the proceso with the same id
-- (ID_Proceso = old ID_Ejecucion) and stays linked to it as its only child.
-- Both are marked Legado: history is read-only, and every lifecycle routine
-- refuses it (a legacy ID_Ejecucion is shared by all funds of its run, so
-- nothing may delete by it on behalf of one fund). Its funds' rows in
-- logs.Ejecucion_Fondos, extract.* and staging.* keep their keys: no data row
-- is rewritten, and history stays readable through procesos -> ejecuciones ->
-- fondos (and logs.vw_Ejecucion_Etapas, from the legacy Estado_Process_*).
--
-- One transaction (plan, risk 2). Before committing it proves, against counts
-- taken inside the same transaction before any change:
--   1. every fund row has its ejecución (no orphans; the preflight checks this
--      before 012 already, this is the last line of defence);
--   2. every ejecución reaches a proceso of the same report date;
--   3. per report date, the ejecuciones and fund rows reachable through
--      procesos equal those that existed before;
--   4. per fund, the fund rows reachable through procesos equal those before.
-- Any failed check rolls back and raises error 50015 naming what differs, and
-- this file rolls back whole; migrations before it that already committed stay
-- (the runner's message lists them). Re-running it changes nothing.
--
-- T-SQL notes: the "before" counts live in temp tables (dropped on success,
-- gone with the rollback otherwise); the statements that read them compile
-- when they first run (deferred name resolution). IS DISTINCT FROM needs SQL
-- Server 2022, so the comparisons spell out their NULLs. THROW takes at most
-- 2,048 characters: a list of values longer than 1,500 is cut and ends in
-- "...". STRING_AGG (SQL Server 2017+) aggregates NVARCHAR(MAX), so a long
-- list never hits its 8,000-byte limit.

SET NOCOUNT ON;
SET XACT_ABORT ON;

BEGIN TRY
    BEGIN TRANSACTION;

    DECLARE @N INT;
    DECLARE @Lista NVARCHAR(MAX);
    DECLARE @Msg NVARCHAR(2048);

    DROP TABLE IF EXISTS #AntesPorFecha;
    DROP TABLE IF EXISTS #AntesPorFondo;
    DROP TABLE IF EXISTS #DespuesPorFecha;
    DROP TABLE IF EXISTS #DespuesPorFondo;

    SELECT
        e.FechaReporte,
        COUNT(DISTINCT e.ID_Ejecucion) AS Ejecuciones,
        COUNT(f.ID_Fund) AS Fondos
    INTO #AntesPorFecha
    FROM logs.Ejecuciones AS e
    LEFT JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
    GROUP BY e.FechaReporte;

    SELECT
        f.ID_Fund,
        COUNT(*) AS Filas
    INTO #AntesPorFondo
    FROM logs.Ejecucion_Fondos AS f
    GROUP BY f.ID_Fund;

    -- 1. orphans
    SELECT
        @N = COUNT(*),
        @Lista = STRING_AGG(CAST(a.ID_Ejecucion AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY a.ID_Ejecucion)
    FROM (
        SELECT DISTINCT f.ID_Ejecucion
        FROM logs.Ejecucion_Fondos AS f
        WHERE NOT EXISTS (
            SELECT 1 FROM logs.Ejecuciones AS e
            WHERE e.ID_Ejecucion = f.ID_Ejecucion
        )
    ) AS a;
    IF @N > 0
        BEGIN
            SET @Msg = CONCAT(
                N'015_BACKFILL_ID_PROCESO: ', @N,
                N' ID_Ejecucion value(s) in logs.Ejecucion_Fondos have no row in logs.Ejecuciones (',
                LEFT(@Lista, 1500), CASE WHEN LEN(@Lista) > 1500 THEN N' ...' END,
                N'), so their funds would not be reachable through a proceso. 015 was rolled back. ',
                N'Restore the missing logs.Ejecuciones rows (or archive the orphan fund rows), then migrate again.'
            );
            THROW 50015, @Msg, 1;
        END;

    INSERT INTO logs.Procesos (
        ID_Proceso, FechaReporte, Estado, Usuario, FechaInicio, FechaFin,
        TotalFondos, FondosExitosos, FondosFallidos, Legado
    )
    SELECT
        e.ID_Ejecucion,
        e.FechaReporte,
        e.Estado,
        e.Usuario,
        e.FechaInicio,
        e.FechaFin,
        e.TotalFondos,
        e.FondosExitosos,
        e.FondosFallidos,
        1 AS Legado
    FROM logs.Ejecuciones AS e
    WHERE
        e.ID_Proceso IS NULL
        AND NOT EXISTS (
            SELECT 1 FROM logs.Procesos AS p
            WHERE p.ID_Proceso = e.ID_Ejecucion
        );

    UPDATE logs.Ejecuciones
    SET
        ID_Proceso = ID_Ejecucion,
        Legado = 1
    WHERE ID_Proceso IS NULL;

    -- 2. every ejecución reaches a proceso of its own date
    SELECT
        @N = COUNT(*),
        @Lista = STRING_AGG(CAST(e.ID_Ejecucion AS NVARCHAR(MAX)), N', ') WITHIN GROUP (ORDER BY e.ID_Ejecucion)
    FROM logs.Ejecuciones AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM logs.Procesos AS p
        WHERE p.ID_Proceso = e.ID_Proceso AND p.FechaReporte = e.FechaReporte
    );
    IF @N > 0
        BEGIN
            SET @Msg = CONCAT(
                N'015_BACKFILL_ID_PROCESO: ', @N,
                N' ejecución(es) do not reach a proceso of their own report date after the backfill (',
                LEFT(@Lista, 1500), CASE WHEN LEN(@Lista) > 1500 THEN N' ...' END,
                N'). 015 was rolled back; nothing of it was kept.'
            );
            THROW 50015, @Msg, 1;
        END;

    -- 3. per report date, through procesos
    SELECT
        p.FechaReporte,
        COUNT(DISTINCT e.ID_Ejecucion) AS Ejecuciones,
        COUNT(f.ID_Fund) AS Fondos
    INTO #DespuesPorFecha
    FROM logs.Procesos AS p
    INNER JOIN logs.Ejecuciones AS e ON p.ID_Proceso = e.ID_Proceso
    LEFT JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
    GROUP BY p.FechaReporte;

    SELECT
        @N = COUNT(*),
        @Lista = STRING_AGG(
            CAST(CONCAT(
                CONVERT(CHAR(10), COALESCE(a.FechaReporte, d.FechaReporte), 23),
                N': before ', ISNULL(a.Ejecuciones, 0), N' ejecuciones/', ISNULL(a.Fondos, 0),
                N' fund rows, after ', ISNULL(d.Ejecuciones, 0), N'/', ISNULL(d.Fondos, 0)
            ) AS NVARCHAR(MAX)),
            N'; '
        ) WITHIN GROUP (ORDER BY COALESCE(a.FechaReporte, d.FechaReporte))
    FROM #AntesPorFecha AS a
    FULL OUTER JOIN #DespuesPorFecha AS d ON a.FechaReporte = d.FechaReporte
    WHERE
        -- a.X IS DISTINCT FROM d.X, for each count
        a.Ejecuciones <> d.Ejecuciones
        OR (a.Ejecuciones IS NULL AND d.Ejecuciones IS NOT NULL)
        OR (a.Ejecuciones IS NOT NULL AND d.Ejecuciones IS NULL)
        OR a.Fondos <> d.Fondos
        OR (a.Fondos IS NULL AND d.Fondos IS NOT NULL)
        OR (a.Fondos IS NOT NULL AND d.Fondos IS NULL);
    IF @N > 0
        BEGIN
            SET @Msg = CONCAT(
                N'015_BACKFILL_ID_PROCESO: counts per report date differ after the backfill (',
                LEFT(@Lista, 1500), CASE WHEN LEN(@Lista) > 1500 THEN N' ...' END,
                N'). 015 was rolled back; nothing of it was kept.'
            );
            THROW 50015, @Msg, 1;
        END;

    -- 4. per fund, through procesos
    SELECT
        f.ID_Fund,
        COUNT(*) AS Filas
    INTO #DespuesPorFondo
    FROM logs.Procesos AS p
    INNER JOIN logs.Ejecuciones AS e ON p.ID_Proceso = e.ID_Proceso
    INNER JOIN logs.Ejecucion_Fondos AS f ON e.ID_Ejecucion = f.ID_Ejecucion
    GROUP BY f.ID_Fund;

    SELECT
        @N = COUNT(*),
        @Lista = STRING_AGG(
            CAST(CONCAT(
                N'ID_Fund ', COALESCE(a.ID_Fund, d.ID_Fund), N': before ', ISNULL(a.Filas, 0),
                N' rows, after ', ISNULL(d.Filas, 0)
            ) AS NVARCHAR(MAX)),
            N'; '
        ) WITHIN GROUP (ORDER BY COALESCE(a.ID_Fund, d.ID_Fund))
    FROM #AntesPorFondo AS a
    FULL OUTER JOIN #DespuesPorFondo AS d ON a.ID_Fund = d.ID_Fund
    WHERE
        -- a.Filas IS DISTINCT FROM d.Filas
        a.Filas <> d.Filas
        OR (a.Filas IS NULL AND d.Filas IS NOT NULL)
        OR (a.Filas IS NOT NULL AND d.Filas IS NULL);
    IF @N > 0
        BEGIN
            SET @Msg = CONCAT(
                N'015_BACKFILL_ID_PROCESO: fund rows per fund differ after the backfill (',
                LEFT(@Lista, 1500), CASE WHEN LEN(@Lista) > 1500 THEN N' ...' END,
                N'). 015 was rolled back; nothing of it was kept.'
            );
            THROW 50015, @Msg, 1;
        END;

    DROP TABLE #AntesPorFecha;
    DROP TABLE #AntesPorFondo;
    DROP TABLE #DespuesPorFecha;
    DROP TABLE #DespuesPorFondo;

    COMMIT TRANSACTION;
END TRY
BEGIN CATCH
    IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
    THROW;
END CATCH;
GO
