"""Historical executions in the legacy shape (one ID_Ejecucion shared by all funds of a date)."""

from __future__ import annotations

from datetime import date, datetime

# (ID_Ejecucion as the Node.js backend made it: a millisecond timestamp, date, state, funds and their stage states)
LEGACY_RUNS = [
    (1761177600123, date(2025, 10, 22), "OK", [(101, "OK"), (102, "OK"), (103, "OK")]),
    (1761264000456, date(2025, 10, 23), "ERROR", [(101, "OK"), (102, "ERROR"), (103, "OK")]),
    (1761350400789, date(2025, 10, 24), "ERROR", []),  # failed before any fund was registered
    (1761350999001, date(2025, 10, 24), "OK", [(101, "OK"), (103, "OK")]),  # same date, re-run
]
PORTFOLIO = {101: "LAFID01", 102: "LAFID02", 103: "LAFID03"}
EXTRACT_TABLES = ["extract.IPA", "extract.SONA", "extract.CAPM", "extract.PosModRF", "extract.Derivados", "extract.UBS"]
STAGING_TABLES = [
    "staging.IPA_Precios", "staging.IPA_WorkTable", "staging.IPA_Cash", "staging.IPA_Final",
    "staging.CAPM_WorkTable", "staging.CAPM_Final", "staging.PNL_WorkTable", "staging.PNL_Final",
    "staging.Derivados_WorkTable", "staging.Derivados_Final", "staging.UBS_WorkTable",
    "staging.UBS_Reconciliacion", "staging.UBS_Final",
]


def insert_legacy_history(db) -> None:
    for id_ejec, fecha, estado, funds in LEGACY_RUNS:
        ok = sum(1 for _, s in funds if s == "OK")
        db.execute(
            "INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, FechaInicio, FechaFin, "
            "TotalFondos, FondosExitosos, FondosFallidos) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (id_ejec, fecha, estado, "node-backend", datetime.combine(fecha, datetime.min.time()),
             datetime.combine(fecha, datetime.min.time()), len(funds), ok, len(funds) - ok),
        )
        for id_fund, fund_state in funds:
            pf = PORTFOLIO[id_fund]
            db.execute(
                "INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, "
                "Estado_Process_IPA, Estado_Process_CAPM) VALUES (%s, %s, %s, %s, %s, %s)",
                (id_ejec, id_fund, f"FONDO {id_fund}", pf, fund_state, fund_state),
            )
            for i in range(3):
                db.execute(
                    "INSERT INTO extract.IPA (ID_Ejecucion, FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                    "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    (id_ejec, fecha, pf, f"INS{i:03d}", "RV", "USD", 100 + i, 1000 + i),
                )
                db.execute(
                    "INSERT INTO staging.IPA_WorkTable (ID_Ejecucion, ID_Fund, ID_Instrumento, "
                    "Tipo_Instrumento, Moneda, Cantidad, PrecioLocal, FuentePrecio, ValorMercadoLocal, TipoCambio, "
                    "ValorMercadoBase) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                    (id_ejec, id_fund, f"INS{i:03d}", "RV", "USD", 100 + i, 10.5, "MERCADO", 1050 + i, 1, 1050 + i),
                )
            db.execute(
                "INSERT INTO staging.CAPM_Final (ID_Ejecucion, ID_Fund, Suscripciones, Rescates, FlujoNeto, "
                "NumMovimientos) VALUES (%s, %s, %s, %s, %s, %s)",
                (id_ejec, id_fund, 500, -200, 300, 2),
            )
    db.commit()


def table_fingerprint(db, table: str) -> tuple[int, str]:
    """(row count, checksum of every row's content) of a table."""
    if db.dialect == "postgres":
        row = db.execute(f"SELECT COUNT(*) AS n, MD5(COALESCE(STRING_AGG(t::text, '|' ORDER BY t::text), '')) AS h "
                         f"FROM {table} AS t")[0]
    else:
        from pipeline_helpers import mssql_digest

        schema, name = table.split(".")
        cols = [r["c"] for r in db.execute(
            "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position", (schema, name))]
        row = db.execute(f"SELECT COUNT(*) AS n, {mssql_digest(cols)} AS h FROM {table}")[0]
    db.commit()
    return row["n"], row["h"] or ""


def data_fingerprints(db) -> dict[str, tuple[int, str]]:
    return {t: table_fingerprint(db, t) for t in EXTRACT_TABLES + STAGING_TABLES + ["logs.Ejecucion_Fondos"]}
