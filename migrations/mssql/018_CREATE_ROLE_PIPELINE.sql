-- 018_CREATE_ROLE_PIPELINE
-- Least privilege for the pipeline. The role fondos_pipeline may execute the
-- procedures of logs, extract and staging and read the views of logs, and
-- nothing more: no DDL, no direct reads or writes of any table.
--
-- How that works: procedures and views are owned, like the tables, by dbo, so
-- SQL Server's ownership chaining checks only EXECUTE / SELECT on the object
-- the caller names. Dynamic SQL breaks the chain; the one procedure that uses
-- it (logs.sp_Borrar_Filas_Ejecucion) runs WITH EXECUTE AS OWNER. SELECT on
-- each view is granted in the view's own file, so it survives CREATE OR ALTER.
--
-- Migrations run as the database owner. Airflow connects with a login that is
-- a member of this role, created per environment (never in a migration, since
-- it carries a password), for example:
--   CREATE LOGIN fondos_airflow WITH PASSWORD = N'...', CHECK_POLICY = ON;
--   CREATE USER fondos_airflow FOR LOGIN fondos_airflow;
--   ALTER ROLE fondos_pipeline ADD MEMBER fondos_airflow;
-- (docker-compose's init service does this from .env.)

IF DATABASE_PRINCIPAL_ID(N'fondos_pipeline') IS NULL
    CREATE ROLE fondos_pipeline AUTHORIZATION dbo;
GO

GRANT EXECUTE ON SCHEMA::logs TO fondos_pipeline;
GRANT EXECUTE ON SCHEMA::extract TO fondos_pipeline;
GRANT EXECUTE ON SCHEMA::staging TO fondos_pipeline;
GO
