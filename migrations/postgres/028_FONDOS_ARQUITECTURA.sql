-- 028_FONDOS_ARQUITECTURA
-- Funds moved over gradually (the plan's Riesgo 3: "feature flags para activar
-- nueva arquitectura gradualmente"). config.Fondos.Arquitectura says which
-- architecture processes each fund: 'v3', procesos_diarios (one ejecución per
-- fund), or 'v2', the legacy writer. procesos_diarios maps only active v3 funds;
-- the legacy writer reads its list from config.vw_Fondos_Legado (the active v2
-- funds). ArquitecturaDesde and ArquitecturaUsuario say when and by whom it was
-- last set. Changed only through config.sp_Asignar_Arquitectura, which refuses a
-- fund whose day is running.
-- Existing funds start with the writer that processed them last: a fund listed
-- in a legacy run (ids below 10^15, logs.Ejecucion_Fondos) with no ejecución of
-- procesos_diarios for that report date or a later one stays with the legacy
-- writer ('v2'); every other fund (already on procesos_diarios, or never run),
-- and every fund added later, is 'v3'. Check the result right after migrating
-- (fondos fondos lista) against what the v2 backend still processes.
-- logs.Procesos.FondosLegado: how many active funds were with the legacy writer
-- when the proceso was created (NULL for procesos created before this).
-- fondos_operador may read the rows the parallel run compares (below).

ALTER TABLE config.Fondos ADD COLUMN IF NOT EXISTS Arquitectura VARCHAR(2) NULL;
ALTER TABLE config.Fondos ADD COLUMN IF NOT EXISTS ArquitecturaDesde TIMESTAMP(3) NULL;
ALTER TABLE config.Fondos ADD COLUMN IF NOT EXISTS ArquitecturaUsuario VARCHAR(100) NULL;

UPDATE config.Fondos AS f
SET
    Arquitectura = CASE
        WHEN
            EXISTS (
                SELECT 1
                FROM logs.Ejecucion_Fondos AS lf
                INNER JOIN logs.Ejecuciones AS le ON lf.ID_Ejecucion = le.ID_Ejecucion
                WHERE
                    lf.ID_Fund = f.ID_Fund
                    AND le.ID_Ejecucion < 1000000000000000
                    AND NOT EXISTS (
                        SELECT 1 FROM logs.Ejecuciones AS n
                        WHERE
                            n.ID_Fund = f.ID_Fund
                            AND n.ID_Ejecucion >= 1000000000000000
                            AND n.FechaReporte >= le.FechaReporte
                    )
            )
            THEN 'v2'
        ELSE 'v3'
    END,
    ArquitecturaDesde = LOCALTIMESTAMP(3),
    ArquitecturaUsuario = 'migracion 028'
WHERE f.Arquitectura IS NULL;

ALTER TABLE config.Fondos ALTER COLUMN Arquitectura SET DEFAULT 'v3';
ALTER TABLE config.Fondos ALTER COLUMN Arquitectura SET NOT NULL;
ALTER TABLE config.Fondos ADD CONSTRAINT ck_fondos_arquitectura CHECK (Arquitectura IN ('v2', 'v3'));

ALTER TABLE logs.Procesos ADD COLUMN IF NOT EXISTS FondosLegado INTEGER NULL;

-- The operator's command (config.sp_Asignar_Arquitectura grants its own EXECUTE) lives in config, and
-- crear_proceso counts the funds it will map in config.vw_Fondos_Arquitectura (each view grants its SELECT).
GRANT USAGE ON SCHEMA config TO fondos_operador;
GRANT USAGE ON SCHEMA config TO fondos_pipeline;

-- The parallel run (fondos comparar) reads both writers' rows: the operator's login may read, never
-- write, the extract and staging tables and the two logs tables that say whose rows they are. (A table
-- added to extract or staging later must grant it too.)
GRANT USAGE ON SCHEMA extract TO fondos_operador;
GRANT USAGE ON SCHEMA staging TO fondos_operador;
GRANT SELECT ON ALL TABLES IN SCHEMA extract TO fondos_operador;
GRANT SELECT ON ALL TABLES IN SCHEMA staging TO fondos_operador;
GRANT SELECT ON logs.Ejecuciones TO fondos_operador;
GRANT SELECT ON logs.Ejecucion_Fondos TO fondos_operador;
