-- 016_ADD_FK_EJECUCION_FONDOS
-- Now that 015 proved every logs.Ejecucion_Fondos row has its ejecución, the
-- relation the legacy schema left implicit is declared: ON DELETE CASCADE, so
-- deleting a proceso removes ejecuciones, their fund rows and their stage rows.
-- The primary key stays (ID_Ejecucion, ID_Fund) rather than the plan's
-- ID_Ejecucion alone: history shares one ID_Ejecucion across funds and is not
-- rewritten. New rows are one fund per ID_Ejecucion because every new
-- ejecución has exactly one ID_Fund (logs.Ejecuciones, 013).

ALTER TABLE logs.Ejecucion_Fondos ADD CONSTRAINT fk_ejecucion_fondos_ejecuciones
FOREIGN KEY (ID_Ejecucion) REFERENCES logs.Ejecuciones (ID_Ejecucion) ON DELETE CASCADE;
