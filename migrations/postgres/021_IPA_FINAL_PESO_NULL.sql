-- 021_IPA_FINAL_PESO_NULL
-- staging.IPA_Final.PesoPct may be NULL: a line's weight in the fund's net
-- assets is not meaningful when the net assets are not positive, or when the
-- line is 9 or more times them (a short-heavy fund, an overdraft), and such a
-- weight would overflow DECIMAL(9,6) (error 8115 on SQL Server, "numeric field
-- overflow" on PostgreSQL) and fail the fund's IPA. Before, a non-positive net
-- asset figure stored 0, which read as "no weight". PNL_Final.RentabilidadPct
-- and Derivados_Final.ExposicionPct already follow this rule.

ALTER TABLE staging.IPA_Final ALTER COLUMN PesoPct DROP NOT NULL;
