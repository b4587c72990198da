-- 020_ETAPA_REINTENTANDO
-- A stage state for "failed, and Airflow will try it again": REINTENTANDO,
-- with the attempt's error in Mensaje. Without it the database said
-- EN_PROGRESO, with no message, for as long as a retry waited (up to minutes
-- with exponential backoff), and an operator could not tell a running stage
-- from a failing one. An ejecución with a REINTENTANDO stage is still in
-- progress; closing the proceso turns it into ERROR like any unfinished stage.

ALTER TABLE logs.Ejecucion_Etapas DROP CONSTRAINT IF EXISTS ck_ejecucion_etapas_estado;
ALTER TABLE logs.Ejecucion_Etapas ADD CONSTRAINT ck_ejecucion_etapas_estado
CHECK (Estado IN ('PENDIENTE', 'EN_PROGRESO', 'REINTENTANDO', 'OK', 'ERROR', 'OMITIDO'));
