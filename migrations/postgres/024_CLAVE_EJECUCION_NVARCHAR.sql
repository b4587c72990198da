-- 024_CLAVE_EJECUCION_NVARCHAR
-- The T-SQL twin turns logs.Procesos.ClaveEjecucion (the run key) from
-- VARCHAR(250) into NVARCHAR(250), so keys with characters outside SQL
-- Server's code page are no longer stored with '?' in their place.
-- PostgreSQL needs no change: VARCHAR holds the database encoding, UTF8 here
-- (fondos.db.embedded, and any server this project targets), and VARCHAR(250)
-- already counts characters, not bytes. The type and length stay; this file
-- only records the contract on the column, so the two dialects keep the same
-- numbered migrations.

COMMENT ON COLUMN logs.Procesos.ClaveEjecucion IS
'The run key (Airflow run_id), Unicode, up to 250 characters; unique when present (012, 024).';
