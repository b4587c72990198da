-- 001_CREATE_SCHEMAS
-- The five schemas of the fund database:
--   config   fund master data             source   upstream systems' daily feeds
--   extract  per-run copies of the feeds  staging  per-fund work and final tables
--   logs     runs, funds and stage states
-- CREATE SCHEMA must be alone in its batch, hence EXEC.

IF SCHEMA_ID(N'config') IS NULL EXEC (N'CREATE SCHEMA config');
IF SCHEMA_ID(N'source') IS NULL EXEC (N'CREATE SCHEMA source');
IF SCHEMA_ID(N'extract') IS NULL EXEC (N'CREATE SCHEMA extract');
IF SCHEMA_ID(N'staging') IS NULL EXEC (N'CREATE SCHEMA staging');
IF SCHEMA_ID(N'logs') IS NULL EXEC (N'CREATE SCHEMA logs');
GO
