-- 018_CREATE_ROLE_PIPELINE
-- Least privilege for the pipeline. The role fondos_pipeline may execute the
-- routines of logs, extract and staging and read the views of logs, and
-- nothing more: no DDL, no direct reads or writes of any table.
--
-- How that works: the routines are SECURITY DEFINER with a fixed search_path
-- (each file says so), owned by the migration owner, so they reach the tables
-- with the owner's rights while the caller needs only EXECUTE. PostgreSQL
-- grants EXECUTE on new functions to PUBLIC by default; that default is
-- revoked for the owner, so only fondos_pipeline (and the owner) can call
-- them. The runner recreates routines when they change; the default
-- privileges below apply to each new version. SELECT on each view is granted
-- in the view's own file.
--
-- Migrations run as the owner. Airflow connects with a login role that is a
-- member of this one, created per environment (it carries a password):
--   CREATE ROLE fondos_airflow LOGIN PASSWORD '...' IN ROLE fondos_pipeline;
-- Roles are cluster-wide: the role is created once and reused by every
-- database of the cluster.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fondos_pipeline') THEN
        CREATE ROLE fondos_pipeline NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA logs, extract, staging TO fondos_pipeline;

ALTER DEFAULT PRIVILEGES REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
ALTER DEFAULT PRIVILEGES IN SCHEMA logs, extract, staging GRANT EXECUTE ON FUNCTIONS TO fondos_pipeline;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA logs, extract, staging FROM PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA logs, extract, staging TO fondos_pipeline;
