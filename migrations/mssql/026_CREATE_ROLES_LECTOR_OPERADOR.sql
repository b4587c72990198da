-- 026_CREATE_ROLES_LECTOR_OPERADOR
-- Least privilege per reader (issue 19). Three database roles, each a login's only way in:
--   fondos_pipeline  (018) the DAG's tasks: EXECUTE on the schemas logs, extract and staging and
--                    SELECT on the views, less the DENYs in the routines' own files; it can no
--                    longer delete a proceso or revert a fund (sp_Eliminar_Proceso.sql and
--                    sp_Revertir_Ejecucion.sql DENY it);
--   fondos_lector    the proceso API and the board: SELECT on the four views of logs, nothing else;
--   fondos_operador  the operator's commands: revertir, eliminar, cerrar (with its metrics), and
--                    the views.
-- The views and routines grant their own permissions in their files (created after the migrations;
-- CREATE OR ALTER keeps them). Ownership chaining (dbo owns the schemas, 025, and every object)
-- lets a SELECT on a view read its tables and an EXECUTE run its statements with no permission
-- on the tables. A DENY wins over any GRANT: an operator login must not also be a member of
-- fondos_pipeline, or the DENYs on eliminar and revertir would stop it too.
-- Logins and users are created per environment (they carry passwords), e.g.
--   CREATE LOGIN fondos_api (with its own password); CREATE USER fondos_api FOR LOGIN fondos_api;
--   ALTER ROLE fondos_lector ADD MEMBER fondos_api;

IF DATABASE_PRINCIPAL_ID(N'fondos_lector') IS NULL
    CREATE ROLE fondos_lector AUTHORIZATION dbo;
GO

IF DATABASE_PRINCIPAL_ID(N'fondos_operador') IS NULL
    CREATE ROLE fondos_operador AUTHORIZATION dbo;
GO
