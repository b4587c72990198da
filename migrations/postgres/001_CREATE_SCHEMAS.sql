-- 001_CREATE_SCHEMAS
-- The five schemas of the fund database:
--   config   fund master data             source   upstream systems' daily feeds
--   extract  per-run copies of the feeds  staging  per-fund work and final tables
--   logs     runs, funds and stage states

CREATE SCHEMA IF NOT EXISTS config;
CREATE SCHEMA IF NOT EXISTS source;
CREATE SCHEMA IF NOT EXISTS extract;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS logs;
