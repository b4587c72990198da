-- 025_SCHEMAS_AUTHORIZATION_DBO
-- The five schemas are owned by dbo, whoever runs the migrations: what
-- CREATE SCHEMA ... AUTHORIZATION dbo would have said in 001 (which cannot be
-- edited: applied migrations are checksummed).
-- Why it matters: 018's least privilege relies on ownership chaining. The
-- pipeline role has EXECUTE on the procedures and no right on any table; a
-- procedure reaches the tables of another schema (logs -> extract/staging,
-- staging -> source/config) without a permission check only when both
-- objects have the same owner, and an object in a schema is owned by the
-- schema's owner unless set otherwise. A schema created by 001 under a login
-- that is db_owner but not dbo belongs to that user, so the chain from dbo's
-- objects breaks at it, and every cross-schema call of the pipeline fails with
-- error 229 (permission denied) once that user is removed or differs.
-- ALTER AUTHORIZATION on a schema drops the permissions granted on the schema
-- itself, so 018's GRANT EXECUTE ON SCHEMA are granted again below (object
-- permissions -- SELECT on each view, the DENYs of sp_Borrar_Filas_Ejecucion
-- and sp_Recalcular_Proceso -- stay with their objects). Only schemas not
-- already owned by dbo change: on a database migrated as dbo (the usual case)
-- this file changes nothing. EXEC because ALTER AUTHORIZATION takes no
-- variable, with the schema names constant.

IF
    EXISTS (
        SELECT 1 FROM sys.schemas AS s
        WHERE s.name = N'config' AND s.principal_id <> USER_ID(N'dbo')
    )
    EXEC (N'ALTER AUTHORIZATION ON SCHEMA::config TO dbo');
IF
    EXISTS (
        SELECT 1 FROM sys.schemas AS s
        WHERE s.name = N'source' AND s.principal_id <> USER_ID(N'dbo')
    )
    EXEC (N'ALTER AUTHORIZATION ON SCHEMA::source TO dbo');
IF
    EXISTS (
        SELECT 1 FROM sys.schemas AS s
        WHERE s.name = N'extract' AND s.principal_id <> USER_ID(N'dbo')
    )
    EXEC (N'ALTER AUTHORIZATION ON SCHEMA::extract TO dbo');
IF
    EXISTS (
        SELECT 1 FROM sys.schemas AS s
        WHERE s.name = N'staging' AND s.principal_id <> USER_ID(N'dbo')
    )
    EXEC (N'ALTER AUTHORIZATION ON SCHEMA::staging TO dbo');
IF
    EXISTS (
        SELECT 1 FROM sys.schemas AS s
        WHERE s.name = N'logs' AND s.principal_id <> USER_ID(N'dbo')
    )
    EXEC (N'ALTER AUTHORIZATION ON SCHEMA::logs TO dbo');
GO

-- 018's schema grants, in case the transfer above dropped them (granting twice changes nothing).
GRANT EXECUTE ON SCHEMA::logs TO fondos_pipeline;
GRANT EXECUTE ON SCHEMA::extract TO fondos_pipeline;
GRANT EXECUTE ON SCHEMA::staging TO fondos_pipeline;
GO
