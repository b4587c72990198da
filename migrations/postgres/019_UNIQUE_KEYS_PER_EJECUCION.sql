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
-- PostgreSQL: partial unique indexes beside 017's indexes (the steps' seeks
-- keep using 017's: a partial index cannot serve a parameterised id).
CREATE UNIQUE INDEX IF NOT EXISTS ux_ipa ON extract.IPA (ID_Ejecucion, Portfolio, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_capm ON extract.CAPM (ID_Ejecucion, Portfolio, ID_Movimiento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_posmodrf ON extract.PosModRF (ID_Ejecucion, Portfolio, ID_Instrumento, FechaPrecio)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_sona ON extract.SONA (ID_Ejecucion, Portfolio, Moneda)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_derivados ON extract.Derivados (ID_Ejecucion, Portfolio, ID_Contrato)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ubs ON extract.UBS (ID_Ejecucion, Cuenta, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ipa_precios ON staging.IPA_Precios (ID_Ejecucion, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ipa_worktable ON staging.IPA_WorkTable (ID_Ejecucion, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ipa_cash ON staging.IPA_Cash (ID_Ejecucion, Moneda)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ipa_final ON staging.IPA_Final (ID_Ejecucion, Tipo_Linea, Linea)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_capm_worktable ON staging.CAPM_WorkTable (ID_Ejecucion, ID_Movimiento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_capm_final ON staging.CAPM_Final (ID_Ejecucion)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_pnl_worktable ON staging.PNL_WorkTable (ID_Ejecucion, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_pnl_final ON staging.PNL_Final (ID_Ejecucion)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_derivados_worktable ON staging.Derivados_WorkTable (ID_Ejecucion, ID_Contrato)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_derivados_final ON staging.Derivados_Final (ID_Ejecucion)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ubs_worktable ON staging.UBS_WorkTable (ID_Ejecucion, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ubs_reconciliacion ON staging.UBS_Reconciliacion (ID_Ejecucion, ID_Instrumento)
WHERE ID_Ejecucion >= 1000000000000000;

CREATE UNIQUE INDEX IF NOT EXISTS ux_ubs_final ON staging.UBS_Final (ID_Ejecucion)
WHERE ID_Ejecucion >= 1000000000000000;
