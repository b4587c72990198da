-- 017_CLUSTER_EXTRACT_STAGING_BY_EJECUCION
-- Keys every extract.* and staging.* table by ID_Ejecucion first, so that each
-- fund's statements seek one contiguous range of its own rows (DESIGN: SQL
-- Server rules; plan: "particion perfecta").
--
-- PostgreSQL has no clustered indexes and never escalates row locks, so the
-- equivalent is a btree led by ID_Ejecucion replacing the legacy index.

DROP INDEX IF EXISTS extract.ix_ipa_ejecucion;
CREATE INDEX IF NOT EXISTS cix_ipa ON extract.IPA (ID_Ejecucion, Portfolio, ID_Instrumento);

DROP INDEX IF EXISTS extract.ix_capm_ejecucion;
CREATE INDEX IF NOT EXISTS cix_capm ON extract.CAPM (ID_Ejecucion, Portfolio, ID_Movimiento);

DROP INDEX IF EXISTS extract.ix_posmodrf_ejecucion;
CREATE INDEX IF NOT EXISTS cix_posmodrf ON extract.PosModRF (ID_Ejecucion, Portfolio, ID_Instrumento, FechaPrecio);

DROP INDEX IF EXISTS extract.ix_sona_ejecucion;
CREATE INDEX IF NOT EXISTS cix_sona ON extract.SONA (ID_Ejecucion, Portfolio, Moneda);

DROP INDEX IF EXISTS extract.ix_derivados_ejecucion;
CREATE INDEX IF NOT EXISTS cix_derivados ON extract.Derivados (ID_Ejecucion, Portfolio, ID_Contrato);

DROP INDEX IF EXISTS extract.ix_ubs_ejecucion;
CREATE INDEX IF NOT EXISTS cix_ubs ON extract.UBS (ID_Ejecucion, Cuenta, ID_Instrumento);

DROP INDEX IF EXISTS staging.ix_ipa_precios_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ipa_precios ON staging.IPA_Precios (ID_Ejecucion, ID_Fund, ID_Instrumento);

DROP INDEX IF EXISTS staging.ix_ipa_worktable_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ipa_worktable ON staging.IPA_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento);

DROP INDEX IF EXISTS staging.ix_ipa_cash_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ipa_cash ON staging.IPA_Cash (ID_Ejecucion, ID_Fund, Moneda);

DROP INDEX IF EXISTS staging.ix_ipa_final_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ipa_final ON staging.IPA_Final (ID_Ejecucion, ID_Fund, Linea);

DROP INDEX IF EXISTS staging.ix_capm_worktable_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_capm_worktable ON staging.CAPM_WorkTable (ID_Ejecucion, ID_Fund, ID_Movimiento);

DROP INDEX IF EXISTS staging.ix_capm_final_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_capm_final ON staging.CAPM_Final (ID_Ejecucion, ID_Fund);

DROP INDEX IF EXISTS staging.ix_pnl_worktable_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_pnl_worktable ON staging.PNL_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento);

DROP INDEX IF EXISTS staging.ix_pnl_final_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_pnl_final ON staging.PNL_Final (ID_Ejecucion, ID_Fund);

DROP INDEX IF EXISTS staging.ix_derivados_worktable_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_derivados_worktable ON staging.Derivados_WorkTable (ID_Ejecucion, ID_Fund, ID_Contrato);

DROP INDEX IF EXISTS staging.ix_derivados_final_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_derivados_final ON staging.Derivados_Final (ID_Ejecucion, ID_Fund);

DROP INDEX IF EXISTS staging.ix_ubs_worktable_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ubs_worktable ON staging.UBS_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento);

DROP INDEX IF EXISTS staging.ix_ubs_reconciliacion_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ubs_reconciliacion ON staging.UBS_Reconciliacion (ID_Ejecucion, ID_Fund, ID_Instrumento);

DROP INDEX IF EXISTS staging.ix_ubs_final_ejecucion_fund;
CREATE INDEX IF NOT EXISTS cix_ubs_final ON staging.UBS_Final (ID_Ejecucion, ID_Fund);
