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
-- fondos_operador may read the rows the parallel run compares (at the end).
-- The check compares bytes (BIN2): the default collation would accept 'V3'.
-- Nullable columns first (metadata only), filled, then NOT NULL: config.Fondos
-- has one row per fund, so the rewrite is small.

IF COL_LENGTH(N'config.Fondos', N'Arquitectura') IS NULL
    ALTER TABLE config.Fondos ADD Arquitectura VARCHAR(2) NULL;
GO

IF COL_LENGTH(N'config.Fondos', N'ArquitecturaDesde') IS NULL
    ALTER TABLE config.Fondos ADD ArquitecturaDesde DATETIME2(3) NULL;
GO

IF COL_LENGTH(N'config.Fondos', N'ArquitecturaUsuario') IS NULL
    ALTER TABLE config.Fondos ADD ArquitecturaUsuario VARCHAR(100) NULL;
GO

UPDATE f
SET
    f.Arquitectura = CASE
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
    f.ArquitecturaDesde = SYSDATETIME(),
    f.ArquitecturaUsuario = 'migracion 028'
FROM config.Fondos AS f
WHERE f.Arquitectura IS NULL;
GO

ALTER TABLE config.Fondos ALTER COLUMN Arquitectura VARCHAR(2) NOT NULL;
GO

IF OBJECT_ID(N'config.DF_Fondos_Arquitectura', N'D') IS NULL
    ALTER TABLE config.Fondos ADD CONSTRAINT DF_Fondos_Arquitectura DEFAULT ('v3') FOR Arquitectura;
GO

IF OBJECT_ID(N'config.CK_Fondos_Arquitectura', N'C') IS NULL
    ALTER TABLE config.Fondos ADD CONSTRAINT CK_Fondos_Arquitectura
    CHECK (Arquitectura COLLATE Latin1_General_100_BIN2 IN ('v2', 'v3'));
GO

IF COL_LENGTH(N'logs.Procesos', N'FondosLegado') IS NULL
    ALTER TABLE logs.Procesos ADD FondosLegado INT NULL;
GO

-- The parallel run (fondos comparar) reads both writers' rows: the operator's login may read, never
-- write, the extract and staging tables (the whole schema, later tables too) and the two logs tables
-- that say whose rows they are.
GRANT SELECT ON SCHEMA::extract TO fondos_operador;
GRANT SELECT ON SCHEMA::staging TO fondos_operador;
GRANT SELECT ON logs.Ejecuciones TO fondos_operador;
GRANT SELECT ON logs.Ejecucion_Fondos TO fondos_operador;
GO
