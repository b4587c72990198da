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
-- One transaction (the runner's; plan, risk 2). Before committing it proves,
-- against counts taken inside the same transaction before any change:
--   1. every fund row has its ejecución (no orphans; the preflight checks this
--      before 012 already, this is the last line of defence);
--   2. every ejecución reaches a proceso of the same report date;
--   3. per report date, the ejecuciones and fund rows reachable through
--      procesos equal those that existed before;
--   4. per fund, the fund rows reachable through procesos equal those before.
-- Any failed check raises (SQLSTATE P0001) naming what differs, and this file
-- rolls back whole; migrations before it that already committed stay (the
-- runner's message lists them). Re-running it changes nothing.

DO $$
DECLARE
    v_n integer;
    v_ejemplo text;
BEGIN
    CREATE TEMP TABLE antes_por_fecha ON COMMIT DROP AS
    SELECT e.fechareporte, COUNT(DISTINCT e.id_ejecucion) AS ejecuciones, COUNT(f.id_fund) AS fondos
    FROM logs.ejecuciones AS e
    LEFT JOIN logs.ejecucion_fondos AS f ON f.id_ejecucion = e.id_ejecucion
    GROUP BY e.fechareporte;

    CREATE TEMP TABLE antes_por_fondo ON COMMIT DROP AS
    SELECT f.id_fund, COUNT(*) AS filas FROM logs.ejecucion_fondos AS f GROUP BY f.id_fund;

    -- 1. orphans
    SELECT COUNT(*), STRING_AGG(a.id_ejecucion::text, ', ' ORDER BY a.id_ejecucion) INTO v_n, v_ejemplo
    FROM (SELECT DISTINCT f.id_ejecucion FROM logs.ejecucion_fondos AS f
          WHERE NOT EXISTS (SELECT 1 FROM logs.ejecuciones AS e WHERE e.id_ejecucion = f.id_ejecucion)) AS a;
    IF v_n > 0 THEN
        RAISE EXCEPTION '015_BACKFILL_ID_PROCESO: % ID_Ejecucion value(s) in logs.Ejecucion_Fondos have no row in logs.Ejecuciones (%), so their funds would not be reachable through a proceso. 015 was rolled back. Restore the missing logs.Ejecuciones rows (or archive the orphan fund rows), then migrate again.',
            v_n, v_ejemplo;
    END IF;

    INSERT INTO logs.procesos (
        id_proceso, fechareporte, estado, usuario, fechainicio, fechafin,
        totalfondos, fondosexitosos, fondosfallidos, legado
    )
    SELECT
        e.id_ejecucion, e.fechareporte, e.estado, e.usuario, e.fechainicio, e.fechafin,
        e.totalfondos, e.fondosexitosos, e.fondosfallidos, TRUE
    FROM logs.ejecuciones AS e
    WHERE e.id_proceso IS NULL
      AND NOT EXISTS (SELECT 1 FROM logs.procesos AS p WHERE p.id_proceso = e.id_ejecucion);

    UPDATE logs.ejecuciones SET id_proceso = id_ejecucion, legado = TRUE WHERE id_proceso IS NULL;

    -- 2. every ejecución reaches a proceso of its own date
    SELECT COUNT(*), STRING_AGG(e.id_ejecucion::text, ', ' ORDER BY e.id_ejecucion) INTO v_n, v_ejemplo
    FROM logs.ejecuciones AS e
    WHERE NOT EXISTS (
        SELECT 1 FROM logs.procesos AS p WHERE p.id_proceso = e.id_proceso AND p.fechareporte = e.fechareporte
    );
    IF v_n > 0 THEN
        RAISE EXCEPTION '015_BACKFILL_ID_PROCESO: % ejecución(es) do not reach a proceso of their own report date after the backfill (%). 015 was rolled back; nothing of it was kept.',
            v_n, v_ejemplo;
    END IF;

    -- 3. per report date, through procesos
    SELECT COUNT(*), STRING_AGG(FORMAT('%s: before %s ejecuciones/%s fund rows, after %s/%s',
                                       COALESCE(a.fechareporte, d.fechareporte), COALESCE(a.ejecuciones, 0),
                                       COALESCE(a.fondos, 0), COALESCE(d.ejecuciones, 0), COALESCE(d.fondos, 0)),
                                '; ' ORDER BY COALESCE(a.fechareporte, d.fechareporte))
    INTO v_n, v_ejemplo
    FROM antes_por_fecha AS a
    FULL JOIN (
        SELECT p.fechareporte, COUNT(DISTINCT e.id_ejecucion) AS ejecuciones, COUNT(f.id_fund) AS fondos
        FROM logs.procesos AS p
        JOIN logs.ejecuciones AS e ON e.id_proceso = p.id_proceso
        LEFT JOIN logs.ejecucion_fondos AS f ON f.id_ejecucion = e.id_ejecucion
        GROUP BY p.fechareporte
    ) AS d ON d.fechareporte = a.fechareporte
    WHERE a.ejecuciones IS DISTINCT FROM d.ejecuciones OR a.fondos IS DISTINCT FROM d.fondos;
    IF v_n > 0 THEN
        RAISE EXCEPTION '015_BACKFILL_ID_PROCESO: counts per report date differ after the backfill (%). 015 was rolled back; nothing of it was kept.',
            v_ejemplo;
    END IF;

    -- 4. per fund, through procesos
    SELECT COUNT(*), STRING_AGG(FORMAT('ID_Fund %s: before %s rows, after %s', COALESCE(a.id_fund, d.id_fund),
                                       COALESCE(a.filas, 0), COALESCE(d.filas, 0)),
                                '; ' ORDER BY COALESCE(a.id_fund, d.id_fund))
    INTO v_n, v_ejemplo
    FROM antes_por_fondo AS a
    FULL JOIN (
        SELECT f.id_fund, COUNT(*) AS filas
        FROM logs.procesos AS p
        JOIN logs.ejecuciones AS e ON e.id_proceso = p.id_proceso
        JOIN logs.ejecucion_fondos AS f ON f.id_ejecucion = e.id_ejecucion
        GROUP BY f.id_fund
    ) AS d ON d.id_fund = a.id_fund
    WHERE a.filas IS DISTINCT FROM d.filas;
    IF v_n > 0 THEN
        RAISE EXCEPTION '015_BACKFILL_ID_PROCESO: fund rows per fund differ after the backfill (%). 015 was rolled back; nothing of it was kept.',
            v_ejemplo;
    END IF;
END
$$;
