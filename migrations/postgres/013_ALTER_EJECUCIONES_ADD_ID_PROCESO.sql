-- 013_ALTER_EJECUCIONES_ADD_ID_PROCESO
-- logs.Ejecuciones becomes the per-fund child of logs.Procesos (plan, FASE 1.2):
-- ID_Proceso (FK, ON DELETE CASCADE: deleting a proceso deletes its
-- ejecuciones) and ID_Fund. Both stay NULL-able while history is backfilled
-- (plan, risk 2); legacy rows keep ID_Fund NULL because one legacy ejecución
-- covered many funds. A fund appears at most once per proceso
-- (ux_ejecuciones_proceso_fund, partial to new-style rows). Estado is
-- checked against the states the pipeline writes; `fondos db migrate` runs a
-- preflight before 012 that normalises known spellings of those states in
-- legacy rows (case, surrounding spaces) and refuses, with nothing applied,
-- any value it cannot map (fondos/legacy.py). Legado marks the backfilled,
-- read-only history (set by 015).

ALTER TABLE logs.Ejecuciones ADD COLUMN IF NOT EXISTS ID_Proceso BIGINT NULL;
ALTER TABLE logs.Ejecuciones ADD COLUMN IF NOT EXISTS ID_Fund INTEGER NULL;
ALTER TABLE logs.Ejecuciones ADD COLUMN IF NOT EXISTS Legado BOOLEAN NOT NULL DEFAULT FALSE;

ALTER TABLE logs.Ejecuciones ADD CONSTRAINT fk_ejecuciones_procesos
FOREIGN KEY (ID_Proceso) REFERENCES logs.Procesos (ID_Proceso) ON DELETE CASCADE;

ALTER TABLE logs.Ejecuciones ADD CONSTRAINT ck_ejecuciones_estado
CHECK (Estado IN ('EN_PROGRESO', 'OK', 'ERROR'));

CREATE UNIQUE INDEX IF NOT EXISTS ux_ejecuciones_proceso_fund ON logs.Ejecuciones (ID_Proceso, ID_Fund)
WHERE ID_Fund IS NOT NULL;
CREATE INDEX IF NOT EXISTS ix_ejecuciones_proceso ON logs.Ejecuciones (ID_Proceso) INCLUDE (Estado, ID_Fund);
CREATE INDEX IF NOT EXISTS ix_ejecuciones_fechareporte ON logs.Ejecuciones (FechaReporte);
CREATE INDEX IF NOT EXISTS ix_ejecuciones_estado ON logs.Ejecuciones (Estado);
