-- 019_UNIQUE_KEYS_PER_EJECUCION
-- Duplicates impossible by construction: every extract.* and staging.* table
-- gets a unique key on its natural key within the ejecución (an instrument,
-- movement, contract, currency or line appears once per ID_Ejecucion; the
-- one-row summaries once). Together with the per-ejecución, per-stage lock
-- every step takes (logs.sp_Bloquear_Ejecucion), a second call of a step -- a
-- retry racing a killed attempt's statement still running on the server --
-- waits or fails, and never leaves rows twice.
--
-- Scope: new ejecuciones only, ID_Ejecucion >= 1,000,000,000,000,000 (10^15,
-- where logs.Seq_ID starts; see 012). History is not constrained: legacy ids
-- are millisecond timestamps (about 1.8 x 10^12), one legacy id is shared by
-- every fund of its run (extract tables have no ID_Fund), and the legacy
-- writer left exact duplicates, which a key must neither fail on nor change.
-- The legacy v2 writer, alive during the transition week, writes the same
-- way and is not constrained either.
--
-- SQL Server:
-- * Filtered unique nonclustered indexes (UX_<table>) beside 017's clustered
--   indexes, which stay non-unique: legacy data may hold duplicates and is
--   not rewritten. The steps' seeks keep using 017's clustered indexes.
-- * The filter compares with CAST(1000000000000000 AS BIGINT): a bare
--   1000000000000000 is a DECIMAL(16, 0) constant, which would convert the
--   BIGINT column on the left of the comparison, and a filtered index refuses
--   that (error 10611).
-- * Filtered indexes need ANSI_NULLS, ANSI_PADDING, ANSI_WARNINGS, ARITHABORT,
--   CONCAT_NULL_YIELDS_NULL and QUOTED_IDENTIFIER ON and NUMERIC_ROUNDABORT
--   OFF in the session that creates them (the first batch below; the
--   runner's session keeps them) AND in every session or module that inserts,
--   updates or deletes rows of these tables: otherwise the statement fails
--   with error 1934, for legacy ids too (the filter does not matter). A
--   procedure, trigger or function keeps the ANSI_NULLS and QUOTED_IDENTIFIER
--   of the session that created it (sys.sql_modules.uses_ansi_nulls,
--   uses_quoted_identifier): this project's procedures are created by
--   `fondos db migrate` over pymssql or ODBC Driver 18, both ON (logs.Procesos
--   has had a filtered index since 012 already). The other five come from the
--   session at run time: pymssql and ODBC Driver 18 set them as required
--   (ANSI_WARNINGS ON implies ARITHABORT ON at compatibility level 90+).
--   Watch for: sqlcmd without -I and SQL Server Agent T-SQL job steps, which
--   run with QUOTED_IDENTIFIER OFF, and procedures created from them. The
--   second batch refuses, with nothing created, while a module that references
--   one of these tables, contains INSERT, UPDATE, DELETE or MERGE and was
--   created with either setting OFF exists (the legacy v2 writer, for one):
--   it would fail on every write from the moment these indexes exist.
--   Re-create such modules with SET ANSI_NULLS ON and SET QUOTED_IDENTIFIER
--   ON (mind double-quoted strings, which become identifiers), then migrate.
--   Ad-hoc sessions, scripts and job steps cannot be checked from here.
-- * Lock cost: LOCK_ESCALATION is DISABLE on these tables (017), so every row
--   lock is kept. A nonclustered index adds one key lock per row inserted or
--   deleted (new-style ids only) on top of the clustered index's: a fund's
--   10,000-row INSERT ... SELECT now holds about 20,000 row locks (roughly 2
--   MB of lock memory) until its step commits, and 50 funds at once about
--   twice what they held before. With escalation disabled SQL Server does not
--   escalate under memory pressure either (017's header says otherwise): when
--   lock memory runs out the statement fails with error 1204. Size the
--   instance's memory for it, or batch large inserts.
-- * Building them: each build needs only the ID_Ejecucion >= 10^15 range of
--   017's clustered index (a range seek), offline, holding a shared table lock that
--   blocks that table's writers for the build: run it while the pipeline is
--   idle. If a new-style ejecución already holds duplicates (written before
--   this migration), the build fails with error 1505 naming the table, the
--   index and the key, and this file rolls back whole: remove that
--   ejecución's rows (logs.sp_Revertir_Ejecucion) and migrate again.
-- * A case-insensitive collation (the default) compares case- and
--   trailing-space-insensitively, so 'ABC' and 'abc ' are one key here
--   (PostgreSQL keeps them apart), as they already are one value in this
--   dialect's joins.
-- * Each index is created only if missing (sys.indexes), one GO batch each.

SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_PADDING ON;
SET ANSI_WARNINGS ON;
SET ARITHABORT ON;
SET CONCAT_NULL_YIELDS_NULL ON;
SET NUMERIC_ROUNDABORT OFF;
GO

DECLARE @Modulos NVARCHAR(MAX);
DECLARE @Msg NVARCHAR(2048);
SELECT
    @Modulos = STRING_AGG(
        CAST(
            CONCAT(
                OBJECT_SCHEMA_NAME(m.object_id), N'.', OBJECT_NAME(m.object_id),
                N' (ANSI_NULLS ', CASE WHEN m.uses_ansi_nulls = 1 THEN N'ON' ELSE N'OFF' END,
                N', QUOTED_IDENTIFIER ', CASE WHEN m.uses_quoted_identifier = 1 THEN N'ON' ELSE N'OFF' END, N')'
            ) AS NVARCHAR(MAX)
        ),
        N', '
    )
FROM sys.sql_modules AS m
WHERE
    (m.uses_ansi_nulls = 0 OR m.uses_quoted_identifier = 0)
    -- the statement words, not column names such as FechaUpdate (comments may still match: then re-create it too)
    AND (
        OBJECT_DEFINITION(m.object_id) COLLATE Latin1_General_CI_AS LIKE N'%[^a-zA-Z0-9_@#$]INSERT[^a-zA-Z0-9_@#$]%'
        OR OBJECT_DEFINITION(m.object_id) COLLATE Latin1_General_CI_AS LIKE N'%[^a-zA-Z0-9_@#$]UPDATE[^a-zA-Z0-9_@#$]%'
        OR OBJECT_DEFINITION(m.object_id) COLLATE Latin1_General_CI_AS LIKE N'%[^a-zA-Z0-9_@#$]DELETE[^a-zA-Z0-9_@#$]%'
        OR OBJECT_DEFINITION(m.object_id) COLLATE Latin1_General_CI_AS LIKE N'%[^a-zA-Z0-9_@#$]MERGE[^a-zA-Z0-9_@#$]%'
    )
    AND EXISTS (
        SELECT 1
        FROM sys.sql_expression_dependencies AS d
        INNER JOIN (
            VALUES
            (N'extract', N'IPA'),
            (N'extract', N'CAPM'),
            (N'extract', N'PosModRF'),
            (N'extract', N'SONA'),
            (N'extract', N'Derivados'),
            (N'extract', N'UBS'),
            (N'staging', N'IPA_Precios'),
            (N'staging', N'IPA_WorkTable'),
            (N'staging', N'IPA_Cash'),
            (N'staging', N'IPA_Final'),
            (N'staging', N'CAPM_WorkTable'),
            (N'staging', N'CAPM_Final'),
            (N'staging', N'PNL_WorkTable'),
            (N'staging', N'PNL_Final'),
            (N'staging', N'Derivados_WorkTable'),
            (N'staging', N'Derivados_Final'),
            (N'staging', N'UBS_WorkTable'),
            (N'staging', N'UBS_Reconciliacion'),
            (N'staging', N'UBS_Final')
        ) AS k(Esquema, Tabla)
            ON
                d.referenced_id = OBJECT_ID(CONCAT(k.Esquema, N'.', k.Tabla))
                OR (d.referenced_schema_name = k.Esquema AND d.referenced_entity_name = k.Tabla)
        WHERE d.referencing_id = m.object_id
    );
IF @Modulos IS NOT NULL
    BEGIN
        SET @Msg = CONCAT(
            N'019_UNIQUE_KEYS_PER_EJECUCION: these modules write extract/staging tables and were created with ',
            N'ANSI_NULLS or QUOTED_IDENTIFIER OFF, so every write of theirs would fail with error 1934 once the ',
            N'filtered unique indexes exist: ', LEFT(@Modulos, 1400),
            N'. Nothing was created. Re-create them with SET ANSI_NULLS ON and SET QUOTED_IDENTIFIER ON, then migrate again.'
        );
        THROW 50045, @Msg, 1;
    END;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_IPA' AND object_id = OBJECT_ID(N'extract.IPA')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_IPA
        ON extract.IPA (ID_Ejecucion, Portfolio, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_CAPM' AND object_id = OBJECT_ID(N'extract.CAPM')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_CAPM
        ON extract.CAPM (ID_Ejecucion, Portfolio, ID_Movimiento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_PosModRF' AND object_id = OBJECT_ID(N'extract.PosModRF')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_PosModRF
        ON extract.PosModRF (ID_Ejecucion, Portfolio, ID_Instrumento, FechaPrecio)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_SONA' AND object_id = OBJECT_ID(N'extract.SONA')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_SONA
        ON extract.SONA (ID_Ejecucion, Portfolio, Moneda)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_Derivados' AND object_id = OBJECT_ID(N'extract.Derivados')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_Derivados
        ON extract.Derivados (ID_Ejecucion, Portfolio, ID_Contrato)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_UBS' AND object_id = OBJECT_ID(N'extract.UBS')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_UBS
        ON extract.UBS (ID_Ejecucion, Cuenta, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_IPA_Precios' AND object_id = OBJECT_ID(N'staging.IPA_Precios')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_IPA_Precios
        ON staging.IPA_Precios (ID_Ejecucion, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_IPA_WorkTable' AND object_id = OBJECT_ID(N'staging.IPA_WorkTable')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_IPA_WorkTable
        ON staging.IPA_WorkTable (ID_Ejecucion, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_IPA_Cash' AND object_id = OBJECT_ID(N'staging.IPA_Cash')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_IPA_Cash
        ON staging.IPA_Cash (ID_Ejecucion, Moneda)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_IPA_Final' AND object_id = OBJECT_ID(N'staging.IPA_Final')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_IPA_Final
        ON staging.IPA_Final (ID_Ejecucion, Tipo_Linea, Linea)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_CAPM_WorkTable' AND object_id = OBJECT_ID(N'staging.CAPM_WorkTable')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_CAPM_WorkTable
        ON staging.CAPM_WorkTable (ID_Ejecucion, ID_Movimiento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_CAPM_Final' AND object_id = OBJECT_ID(N'staging.CAPM_Final')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_CAPM_Final
        ON staging.CAPM_Final (ID_Ejecucion)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_PNL_WorkTable' AND object_id = OBJECT_ID(N'staging.PNL_WorkTable')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_PNL_WorkTable
        ON staging.PNL_WorkTable (ID_Ejecucion, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_PNL_Final' AND object_id = OBJECT_ID(N'staging.PNL_Final')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_PNL_Final
        ON staging.PNL_Final (ID_Ejecucion)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_Derivados_WorkTable' AND object_id = OBJECT_ID(N'staging.Derivados_WorkTable')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_Derivados_WorkTable
        ON staging.Derivados_WorkTable (ID_Ejecucion, ID_Contrato)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_Derivados_Final' AND object_id = OBJECT_ID(N'staging.Derivados_Final')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_Derivados_Final
        ON staging.Derivados_Final (ID_Ejecucion)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_UBS_WorkTable' AND object_id = OBJECT_ID(N'staging.UBS_WorkTable')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_UBS_WorkTable
        ON staging.UBS_WorkTable (ID_Ejecucion, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_UBS_Reconciliacion' AND object_id = OBJECT_ID(N'staging.UBS_Reconciliacion')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_UBS_Reconciliacion
        ON staging.UBS_Reconciliacion (ID_Ejecucion, ID_Instrumento)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'UX_UBS_Final' AND object_id = OBJECT_ID(N'staging.UBS_Final')
    )
    CREATE UNIQUE NONCLUSTERED INDEX UX_UBS_Final
        ON staging.UBS_Final (ID_Ejecucion)
        WHERE ID_Ejecucion >= CAST(1000000000000000 AS BIGINT);
GO
