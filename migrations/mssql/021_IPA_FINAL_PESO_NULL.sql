-- 021_IPA_FINAL_PESO_NULL
-- staging.IPA_Final.PesoPct may be NULL: a line's weight in the fund's net
-- assets is not meaningful when the net assets are not positive, or when the
-- line is 9 or more times them (a short-heavy fund, an overdraft), and such a
-- weight would overflow DECIMAL(9,6) (error 8115 on SQL Server, "numeric field
-- overflow" on PostgreSQL) and fail the fund's IPA. Before, a non-positive net
-- asset figure stored 0, which read as "no weight". PNL_Final.RentabilidadPct
-- and Derivados_Final.ExposicionPct already follow this rule.
--
-- SQL Server: NOT NULL -> NULL on the same type is a metadata-only change (no
-- row is read or rewritten, and PesoPct is in no index key). It still needs a
-- schema-modification lock on the table, which waits for running IPA steps and
-- queues every later reader behind it: run it while the pipeline is idle.
-- Skipped when the column already allows NULL (COLUMNPROPERTY), so running it
-- again changes nothing. The first batch sets the session options the
-- filtered indexes of 019 need, as 019 does (sqlcmd without -I has
-- QUOTED_IDENTIFIER OFF).

SET ANSI_NULLS ON;
SET QUOTED_IDENTIFIER ON;
SET ANSI_PADDING ON;
SET ANSI_WARNINGS ON;
SET ARITHABORT ON;
SET CONCAT_NULL_YIELDS_NULL ON;
SET NUMERIC_ROUNDABORT OFF;
GO

IF COLUMNPROPERTY(OBJECT_ID(N'staging.IPA_Final'), N'PesoPct', 'AllowsNull') = 0
    ALTER TABLE staging.IPA_Final ALTER COLUMN PesoPct DECIMAL(9, 6) NULL;
GO
