-- 020_ETAPA_REINTENTANDO
-- A stage state for "failed, and Airflow will try it again": REINTENTANDO,
-- with the attempt's error in Mensaje. Without it the database said
-- EN_PROGRESO, with no message, for as long as a retry waited (up to minutes
-- with exponential backoff), and an operator could not tell a running stage
-- from a failing one. An ejecución with a REINTENTANDO stage is still in
-- progress; closing the proceso turns it into ERROR like any unfinished stage.
--
-- SQL Server: the check constraint is 014's CK_Ejecucion_Etapas_Estado,
-- dropped if it exists and added again WITH CHECK, so every existing row is
-- validated and the constraint stays trusted. Both run in the runner's one
-- transaction: a failure leaves the old constraint in place. Adding it scans
-- logs.Ejecucion_Etapas under a schema-modification lock (a few rows per
-- ejecución): run it while the pipeline is idle.

IF OBJECT_ID(N'logs.CK_Ejecucion_Etapas_Estado', N'C') IS NOT NULL
    ALTER TABLE logs.Ejecucion_Etapas DROP CONSTRAINT CK_Ejecucion_Etapas_Estado;
GO

ALTER TABLE logs.Ejecucion_Etapas WITH CHECK ADD CONSTRAINT CK_Ejecucion_Etapas_Estado
CHECK (Estado IN ('PENDIENTE', 'EN_PROGRESO', 'REINTENTANDO', 'OK', 'ERROR', 'OMITIDO'));
GO
