-- 015_BACKFILL_ID_PROCESO
-- Gives every historical ejecución a parent proceso (plan, FASE 1.4).
--
-- A legacy ejecución was one report-date run shared by all its funds, which is
-- what a proceso is now, so each becomes the proceso with the same id
-- (ID_Proceso = old ID_Ejecucion) and stays linked to it as its only child.
-- Its funds' rows in logs.Ejecucion_Fondos, extract.* and staging.* keep their
-- keys: no data row is rewritten, and history stays readable through
-- procesos -> ejecuciones -> fondos.
--
-- One transaction (plan, risk 2). Before committing it proves that every
-- ejecución has a proceso and that the fund rows reachable through procesos
-- equal, per report date, the fund rows that existed before; if not, it rolls
-- back and raises error 50015 naming the first offending ID_Ejecucion.
-- Re-running it changes nothing.

SET NOCOUNT ON;
SET XACT_ABORT ON;

BEGIN TRY
    BEGIN TRANSACTION;

    DECLARE @EjecucionesAntes INT = (SELECT COUNT(*) FROM logs.Ejecuciones);
    DECLARE @Msg NVARCHAR(2048);
    DECLARE @Diferencias INT;
    DECLARE @Ejemplo BIGINT;

    SELECT
        f.ID_Ejecucion,
        COUNT(*) AS Filas
    INTO #FondosAntes
    FROM logs.Ejecucion_Fondos AS f
    GROUP BY f.ID_Ejecucion;

    INSERT INTO logs.Procesos (
        ID_Proceso, FechaReporte, Estado, Usuario, FechaInicio, FechaFin,
        TotalFondos, FondosExitosos, FondosFallidos
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
        e.FondosFallidos
    FROM logs.Ejecuciones AS e
    WHERE
        e.ID_Proceso IS NULL
        AND NOT EXISTS (
            SELECT 1 FROM logs.Procesos AS p
            WHERE p.ID_Proceso = e.ID_Ejecucion
        );

    UPDATE logs.Ejecuciones
    SET ID_Proceso = ID_Ejecucion
    WHERE ID_Proceso IS NULL;

    -- Every ejecución reaches a proceso, and none was added or lost.
    IF
        (SELECT COUNT(*) FROM logs.Ejecuciones) <> @EjecucionesAntes
        OR EXISTS (
            SELECT 1 FROM logs.Ejecuciones
            WHERE ID_Proceso IS NULL
        )
        THROW 50015, N'015_BACKFILL_ID_PROCESO: ejecuciones without a proceso after the backfill; rolled back.', 1;

    -- Fund rows reachable through procesos equal the fund rows before.
    SELECT
        @Diferencias = COUNT(*),
        @Ejemplo = MIN(a.ID_Ejecucion)
    FROM #FondosAntes AS a
    WHERE NOT EXISTS (
        SELECT 1
        FROM logs.Procesos AS p
        INNER JOIN logs.Ejecuciones AS e ON p.ID_Proceso = e.ID_Proceso
        WHERE e.ID_Ejecucion = a.ID_Ejecucion
    );
    IF @Diferencias > 0
        BEGIN
            SET @Msg = CONCAT(
                N'015_BACKFILL_ID_PROCESO: ', @Diferencias,
                N' ID_Ejecucion value(s) in logs.Ejecucion_Fondos have no row in logs.Ejecuciones (first: ',
                @Ejemplo, N'), so their funds would not be reachable through a proceso. Nothing was changed. ',
                N'Restore the missing logs.Ejecuciones rows (or archive the orphan fund rows), then migrate again.'
            );
            THROW 50015, @Msg, 1;
        END;

    COMMIT TRANSACTION;
END TRY
BEGIN CATCH
    IF @@TRANCOUNT > 0 ROLLBACK TRANSACTION;
    THROW;
END CATCH;
GO
