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
-- One transaction (the runner's: PostgreSQL DDL and DML are transactional).
-- Before committing it proves that every ejecución has a proceso and that the
-- fund rows reachable through procesos equal the fund rows that existed
-- before; if not, it raises (SQLSTATE P0001) naming the first offending
-- ID_Ejecucion and the whole file rolls back. Re-running it changes nothing.

DO $$
DECLARE
    ejecuciones_antes integer;
    diferencias integer;
    ejemplo bigint;
BEGIN
    SELECT COUNT(*) INTO ejecuciones_antes FROM logs.ejecuciones;

    INSERT INTO logs.procesos (
        id_proceso, fechareporte, estado, usuario, fechainicio, fechafin,
        totalfondos, fondosexitosos, fondosfallidos
    )
    SELECT
        e.id_ejecucion, e.fechareporte, e.estado, e.usuario, e.fechainicio, e.fechafin,
        e.totalfondos, e.fondosexitosos, e.fondosfallidos
    FROM logs.ejecuciones AS e
    WHERE e.id_proceso IS NULL
      AND NOT EXISTS (SELECT 1 FROM logs.procesos AS p WHERE p.id_proceso = e.id_ejecucion);

    UPDATE logs.ejecuciones SET id_proceso = id_ejecucion WHERE id_proceso IS NULL;

    IF (SELECT COUNT(*) FROM logs.ejecuciones) <> ejecuciones_antes
       OR EXISTS (SELECT 1 FROM logs.ejecuciones WHERE id_proceso IS NULL) THEN
        RAISE EXCEPTION '015_BACKFILL_ID_PROCESO: ejecuciones without a proceso after the backfill; rolled back.';
    END IF;

    SELECT COUNT(*), MIN(a.id_ejecucion) INTO diferencias, ejemplo
    FROM (SELECT DISTINCT f.id_ejecucion FROM logs.ejecucion_fondos AS f) AS a
    WHERE NOT EXISTS (
        SELECT 1
        FROM logs.procesos AS p
        JOIN logs.ejecuciones AS e ON p.id_proceso = e.id_proceso
        WHERE e.id_ejecucion = a.id_ejecucion
    );
    IF diferencias > 0 THEN
        RAISE EXCEPTION '015_BACKFILL_ID_PROCESO: % ID_Ejecucion value(s) in logs.Ejecucion_Fondos have no row in logs.Ejecuciones (first: %), so their funds would not be reachable through a proceso. Nothing was changed. Restore the missing logs.Ejecuciones rows (or archive the orphan fund rows), then migrate again.',
            diferencias, ejemplo;
    END IF;
END
$$;
