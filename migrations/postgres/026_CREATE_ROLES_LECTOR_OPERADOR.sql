-- 026_CREATE_ROLES_LECTOR_OPERADOR
-- Least privilege per reader (issue 19). Three roles, each a login's only way in:
--   fondos_pipeline  (018) the DAG's tasks: the stage routines and the views. It can no longer
--                    delete a proceso or revert a fund (the grants are taken back in those
--                    routines' files, sql/logs/sp_Eliminar_Proceso.sql and sp_Revertir_Ejecucion.sql);
--   fondos_lector    the proceso API and the board: SELECT on the four views of logs, nothing else
--                    (no routine, no table);
--   fondos_operador  the operator's commands: revertir (one fund), eliminar (a proceso), cerrar
--                    (reconcile and close a proceso, with its metrics), and the views.
-- Each routine's and view's file grants its own EXECUTE or SELECT, because routines and views are
-- created after the migrations and recreated when they change. Logins are created per environment
-- (they carry passwords), e.g. a LOGIN role fondos_api IN ROLE fondos_lector, with its own password.
-- An operator login must not also be in fondos_pipeline: nothing would be lost, but it would blur
-- who did what.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fondos_lector') THEN
        CREATE ROLE fondos_lector NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fondos_operador') THEN
        CREATE ROLE fondos_operador NOLOGIN;
    END IF;
END
$$;

GRANT USAGE ON SCHEMA logs TO fondos_lector, fondos_operador;
