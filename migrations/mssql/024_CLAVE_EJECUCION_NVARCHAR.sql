-- 024_CLAVE_EJECUCION_NVARCHAR
-- The run key, logs.Procesos.ClaveEjecucion (012), becomes NVARCHAR(250).
-- It was VARCHAR(250), and so was sp_Inicializar_Proceso's @ClaveEjecucion:
-- a key holding characters outside the database's code page (an Airflow
-- run_id from a manual trigger with a non-Latin note, 'manual__2026-03-13
-- 日本', say) was stored with '?' in their place, so two such keys could
-- collide on UX_Procesos_ClaveEjecucion and no key read back as written.
-- Python sends every str as NVARCHAR anyway: comparing it with a VARCHAR
-- column converted the column (CONVERT_IMPLICIT) instead of seeking.
-- NVARCHAR(250) holds 250 UTF-16 code units (a character beyond the BMP takes
-- two under a non-_SC collation); PostgreSQL's VARCHAR(250) counts characters.
--
-- The filtered unique index on the column must go for the ALTER COLUMN and
-- comes back as 012 created it, in the same transaction (the runner applies a
-- file as one), so no duplicate key can slip in between. logs.Procesos has one
-- row per proceso: the rebuild is small. The index needs the session settings
-- of 019's header (filtered index: ANSI_NULLS, QUOTED_IDENTIFIER, ...).
-- Idempotent: nothing happens once the column is NVARCHAR.

SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_PADDING ON;
SET ANSI_WARNINGS ON;
SET ARITHABORT ON;
SET CONCAT_NULL_YIELDS_NULL ON;
SET NUMERIC_ROUNDABORT OFF;
GO

IF
    EXISTS (
        SELECT 1 FROM sys.columns AS c
        WHERE
            c.object_id = OBJECT_ID(N'logs.Procesos')
            AND c.name = N'ClaveEjecucion'
            AND c.system_type_id = TYPE_ID(N'varchar')
    )
    BEGIN
        IF
            EXISTS (
                SELECT 1 FROM sys.indexes
                WHERE name = N'UX_Procesos_ClaveEjecucion' AND object_id = OBJECT_ID(N'logs.Procesos')
            )
            DROP INDEX UX_Procesos_ClaveEjecucion ON logs.Procesos;
        ALTER TABLE logs.Procesos ALTER COLUMN ClaveEjecucion NVARCHAR(250) NULL;
    END;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_Procesos_ClaveEjecucion' AND object_id = OBJECT_ID(N'logs.Procesos')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_Procesos_ClaveEjecucion
        ON logs.Procesos (ClaveEjecucion)
        WHERE ClaveEjecucion IS NOT NULL;
GO
