-- 017_CLUSTER_EXTRACT_STAGING_BY_EJECUCION
-- Keys every extract.* and staging.* table by ID_Ejecucion first, so that each
-- fund's statements seek one contiguous range of its own rows (DESIGN: SQL
-- Server rules; plan: "particion perfecta").
--
-- SQL Server:
-- * The legacy heaps with a nonclustered index on ID_Ejecucion (shared by 50
--   funds) get a clustered index led by ID_Ejecucion (then ID_Fund on staging):
--   a fund's rows sit on their own pages, so row and page locks of different
--   funds do not meet, and deletes/inserts are range seeks.
-- * The clustered indexes are not UNIQUE: legacy data may hold duplicates and
--   is not rewritten; SQL Server adds a uniquifier where needed.
-- * LOCK_ESCALATION = DISABLE on these tables: one fund's 10,000-row
--   INSERT ... SELECT would otherwise take over 5,000 row locks and try to
--   escalate to a table lock that blocks every other fund. Each statement only
--   touches its own ID_Ejecucion range, so row locks are the right grain; the
--   cost is lock memory (about 1 MB per 10,000 locks). DISABLE also stops
--   escalation under memory pressure: if the instance runs out of lock memory
--   the statement fails with error 1204 instead of escalating, so size the
--   lock memory for the largest fund x the pool's slots. Deletes are also
--   batched below 5,000 rows by the procedures (belt and braces). sqlfluff
--   cannot parse ALTER TABLE ... SET (LOCK_ESCALATION = ...), hence EXEC (N'...').
-- * Building a clustered index is an offline operation on Standard edition:
--   run this migration in a maintenance window on large history tables.
-- * Each batch commits on its own (the marker below; fondos.migrate): in one
--   transaction, 19 index rebuilds would hold every table's Sch-M lock and the
--   whole log until the last one ends. Every batch is idempotent (IF EXISTS /
--   IF NOT EXISTS), so after a failure the batches before it stay done and the
--   next `fondos db migrate` runs the file again from the top.
-- fondos: commit-each-statement

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Ejecucion' AND object_id = OBJECT_ID(N'extract.IPA')
    )
    DROP INDEX IX_IPA_Ejecucion ON extract.IPA;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_IPA' AND object_id = OBJECT_ID(N'extract.IPA')
    )
    CREATE CLUSTERED INDEX CIX_IPA ON extract.IPA (ID_Ejecucion, Portfolio, ID_Instrumento);
GO

EXEC (N'ALTER TABLE extract.IPA SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_CAPM_Ejecucion' AND object_id = OBJECT_ID(N'extract.CAPM')
    )
    DROP INDEX IX_CAPM_Ejecucion ON extract.CAPM;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_CAPM' AND object_id = OBJECT_ID(N'extract.CAPM')
    )
    CREATE CLUSTERED INDEX CIX_CAPM ON extract.CAPM (ID_Ejecucion, Portfolio, ID_Movimiento);
GO

EXEC (N'ALTER TABLE extract.CAPM SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_PosModRF_Ejecucion' AND object_id = OBJECT_ID(N'extract.PosModRF')
    )
    DROP INDEX IX_PosModRF_Ejecucion ON extract.PosModRF;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_PosModRF' AND object_id = OBJECT_ID(N'extract.PosModRF')
    )
    CREATE CLUSTERED INDEX CIX_PosModRF ON extract.PosModRF (ID_Ejecucion, Portfolio, ID_Instrumento, FechaPrecio);
GO

EXEC (N'ALTER TABLE extract.PosModRF SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_SONA_Ejecucion' AND object_id = OBJECT_ID(N'extract.SONA')
    )
    DROP INDEX IX_SONA_Ejecucion ON extract.SONA;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_SONA' AND object_id = OBJECT_ID(N'extract.SONA')
    )
    CREATE CLUSTERED INDEX CIX_SONA ON extract.SONA (ID_Ejecucion, Portfolio, Moneda);
GO

EXEC (N'ALTER TABLE extract.SONA SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Derivados_Ejecucion' AND object_id = OBJECT_ID(N'extract.Derivados')
    )
    DROP INDEX IX_Derivados_Ejecucion ON extract.Derivados;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_Derivados' AND object_id = OBJECT_ID(N'extract.Derivados')
    )
    CREATE CLUSTERED INDEX CIX_Derivados ON extract.Derivados (ID_Ejecucion, Portfolio, ID_Contrato);
GO

EXEC (N'ALTER TABLE extract.Derivados SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_Ejecucion' AND object_id = OBJECT_ID(N'extract.UBS')
    )
    DROP INDEX IX_UBS_Ejecucion ON extract.UBS;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_UBS' AND object_id = OBJECT_ID(N'extract.UBS')
    )
    CREATE CLUSTERED INDEX CIX_UBS ON extract.UBS (ID_Ejecucion, Cuenta, ID_Instrumento);
GO

EXEC (N'ALTER TABLE extract.UBS SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Precios_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_Precios')
    )
    DROP INDEX IX_IPA_Precios_Ejecucion_Fund ON staging.IPA_Precios;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_IPA_Precios' AND object_id = OBJECT_ID(N'staging.IPA_Precios')
    )
    CREATE CLUSTERED INDEX CIX_IPA_Precios ON staging.IPA_Precios (ID_Ejecucion, ID_Fund, ID_Instrumento);
GO

EXEC (N'ALTER TABLE staging.IPA_Precios SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_WorkTable')
    )
    DROP INDEX IX_IPA_WorkTable_Ejecucion_Fund ON staging.IPA_WorkTable;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_IPA_WorkTable' AND object_id = OBJECT_ID(N'staging.IPA_WorkTable')
    )
    CREATE CLUSTERED INDEX CIX_IPA_WorkTable ON staging.IPA_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento);
GO

EXEC (N'ALTER TABLE staging.IPA_WorkTable SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Cash_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_Cash')
    )
    DROP INDEX IX_IPA_Cash_Ejecucion_Fund ON staging.IPA_Cash;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_IPA_Cash' AND object_id = OBJECT_ID(N'staging.IPA_Cash')
    )
    CREATE CLUSTERED INDEX CIX_IPA_Cash ON staging.IPA_Cash (ID_Ejecucion, ID_Fund, Moneda);
GO

EXEC (N'ALTER TABLE staging.IPA_Cash SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_IPA_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.IPA_Final')
    )
    DROP INDEX IX_IPA_Final_Ejecucion_Fund ON staging.IPA_Final;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_IPA_Final' AND object_id = OBJECT_ID(N'staging.IPA_Final')
    )
    CREATE CLUSTERED INDEX CIX_IPA_Final ON staging.IPA_Final (ID_Ejecucion, ID_Fund, Linea);
GO

EXEC (N'ALTER TABLE staging.IPA_Final SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_CAPM_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.CAPM_WorkTable')
    )
    DROP INDEX IX_CAPM_WorkTable_Ejecucion_Fund ON staging.CAPM_WorkTable;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_CAPM_WorkTable' AND object_id = OBJECT_ID(N'staging.CAPM_WorkTable')
    )
    CREATE CLUSTERED INDEX CIX_CAPM_WorkTable ON staging.CAPM_WorkTable (ID_Ejecucion, ID_Fund, ID_Movimiento);
GO

EXEC (N'ALTER TABLE staging.CAPM_WorkTable SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_CAPM_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.CAPM_Final')
    )
    DROP INDEX IX_CAPM_Final_Ejecucion_Fund ON staging.CAPM_Final;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_CAPM_Final' AND object_id = OBJECT_ID(N'staging.CAPM_Final')
    )
    CREATE CLUSTERED INDEX CIX_CAPM_Final ON staging.CAPM_Final (ID_Ejecucion, ID_Fund);
GO

EXEC (N'ALTER TABLE staging.CAPM_Final SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_PNL_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.PNL_WorkTable')
    )
    DROP INDEX IX_PNL_WorkTable_Ejecucion_Fund ON staging.PNL_WorkTable;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_PNL_WorkTable' AND object_id = OBJECT_ID(N'staging.PNL_WorkTable')
    )
    CREATE CLUSTERED INDEX CIX_PNL_WorkTable ON staging.PNL_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento);
GO

EXEC (N'ALTER TABLE staging.PNL_WorkTable SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_PNL_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.PNL_Final')
    )
    DROP INDEX IX_PNL_Final_Ejecucion_Fund ON staging.PNL_Final;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_PNL_Final' AND object_id = OBJECT_ID(N'staging.PNL_Final')
    )
    CREATE CLUSTERED INDEX CIX_PNL_Final ON staging.PNL_Final (ID_Ejecucion, ID_Fund);
GO

EXEC (N'ALTER TABLE staging.PNL_Final SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Derivados_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.Derivados_WorkTable')
    )
    DROP INDEX IX_Derivados_WorkTable_Ejecucion_Fund ON staging.Derivados_WorkTable;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_Derivados_WorkTable' AND object_id = OBJECT_ID(N'staging.Derivados_WorkTable')
    )
    CREATE CLUSTERED INDEX CIX_Derivados_WorkTable ON staging.Derivados_WorkTable (ID_Ejecucion, ID_Fund, ID_Contrato);
GO

EXEC (N'ALTER TABLE staging.Derivados_WorkTable SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_Derivados_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.Derivados_Final')
    )
    DROP INDEX IX_Derivados_Final_Ejecucion_Fund ON staging.Derivados_Final;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_Derivados_Final' AND object_id = OBJECT_ID(N'staging.Derivados_Final')
    )
    CREATE CLUSTERED INDEX CIX_Derivados_Final ON staging.Derivados_Final (ID_Ejecucion, ID_Fund);
GO

EXEC (N'ALTER TABLE staging.Derivados_Final SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_WorkTable_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.UBS_WorkTable')
    )
    DROP INDEX IX_UBS_WorkTable_Ejecucion_Fund ON staging.UBS_WorkTable;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_UBS_WorkTable' AND object_id = OBJECT_ID(N'staging.UBS_WorkTable')
    )
    CREATE CLUSTERED INDEX CIX_UBS_WorkTable ON staging.UBS_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento);
GO

EXEC (N'ALTER TABLE staging.UBS_WorkTable SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_Reconciliacion_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.UBS_Reconciliacion')
    )
    DROP INDEX IX_UBS_Reconciliacion_Ejecucion_Fund ON staging.UBS_Reconciliacion;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_UBS_Reconciliacion' AND object_id = OBJECT_ID(N'staging.UBS_Reconciliacion')
    )
    CREATE CLUSTERED INDEX CIX_UBS_Reconciliacion ON staging.UBS_Reconciliacion (ID_Ejecucion, ID_Fund, ID_Instrumento);
GO

EXEC (N'ALTER TABLE staging.UBS_Reconciliacion SET (LOCK_ESCALATION = DISABLE)');
GO

IF
    EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'IX_UBS_Final_Ejecucion_Fund' AND object_id = OBJECT_ID(N'staging.UBS_Final')
    )
    DROP INDEX IX_UBS_Final_Ejecucion_Fund ON staging.UBS_Final;
GO

IF
    NOT EXISTS (
        SELECT 1 FROM sys.indexes
        WHERE name = N'CIX_UBS_Final' AND object_id = OBJECT_ID(N'staging.UBS_Final')
    )
    CREATE CLUSTERED INDEX CIX_UBS_Final ON staging.UBS_Final (ID_Ejecucion, ID_Fund);
GO

EXEC (N'ALTER TABLE staging.UBS_Final SET (LOCK_ESCALATION = DISABLE)');
GO
