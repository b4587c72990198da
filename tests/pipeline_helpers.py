"""Helpers for the conformance suite: seeding, running funds, and comparing rows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import date

from fondos.db.connection import Database, database
from fondos.pipeline import proceso

FECHA = date(2026, 3, 13)  # a Friday
STAGING_FINAL = ["staging.IPA_Final", "staging.CAPM_Final", "staging.PNL_Final", "staging.Derivados_Final",
                 "staging.UBS_Final", "staging.UBS_Reconciliacion"]
ALL_ROW_TABLES = [
    "extract.IPA", "extract.SONA", "extract.PosModRF", "extract.CAPM", "extract.Derivados", "extract.UBS",
    "staging.IPA_Precios", "staging.IPA_WorkTable", "staging.IPA_Cash", "staging.IPA_Final",
    "staging.CAPM_WorkTable", "staging.CAPM_Final", "staging.PNL_WorkTable", "staging.PNL_Final",
    "staging.Derivados_WorkTable", "staging.Derivados_Final", "staging.UBS_WorkTable",
    "staging.UBS_Reconciliacion", "staging.UBS_Final",
]


def seed(n_funds: int, positions: int, fecha: date = FECHA) -> None:
    from fondos_dev.demo import seed as demo_seed

    with database() as db:
        demo_seed(db, fecha, n_funds, positions)


def start(clave: str, fecha: date = FECHA, fondos: list[int] | None = None) -> list[dict]:
    return proceso.inicializar_proceso(fecha, "pytest", clave, fondos)


def run_all(items: list[dict], workers: int = 1) -> dict[int, dict[str, str]]:
    """Process funds, concurrently when workers > 1 (one connection per fund)."""
    if workers == 1:
        return {it["id_fund"]: proceso.ejecutar_fondo(it) for it in items}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(proceso.ejecutar_fondo, items))
    return {it["id_fund"]: r for it, r in zip(items, results, strict=True)}


def _columns(db: Database, table: str) -> list[str]:
    schema, name = table.split(".")
    rows = db.execute(
        "SELECT column_name AS c FROM information_schema.columns WHERE LOWER(table_schema) = %s "
        "AND LOWER(table_name) = %s AND LOWER(column_name) <> 'id_ejecucion' ORDER BY ordinal_position",
        (schema.lower(), name.lower()))
    return [r["c"] for r in rows]


def fund_rows_fingerprint(db: Database, table: str, id_ejecucion: int) -> tuple[int, str]:
    """(rows, checksum) of one ejecución's rows in a table, ignoring the ID_Ejecucion value itself,
    so the same fund processed under two ejecuciones compares equal."""
    cols = _columns(db, table)
    if db.dialect == "postgres":
        expr = "ROW(" + ", ".join(cols) + ")::text"
        row = db.execute(f"SELECT COUNT(*) AS n, MD5(COALESCE(STRING_AGG({expr}, '|' ORDER BY {expr}), '')) AS h "
                         f"FROM {table} WHERE id_ejecucion = %s", (id_ejecucion,))[0]
    else:
        row = db.execute(f"SELECT COUNT(*) AS n, {mssql_digest(cols)} AS h FROM {table} WHERE ID_Ejecucion = %s",
                         (id_ejecucion,))[0]
    return int(row["n"]), row["h"] or ""


def mssql_digest(cols: list[str]) -> str:
    """SHA-256 over every row's values in a fixed order, like PostgreSQL's MD5 of the ordered rows.

    (CHECKSUM_AGG(BINARY_CHECKSUM(...)) collides easily: swapped or offsetting rows cancel out.) Each
    value becomes text (dates in ISO form, decimals at full scale) with a NULL marker, NCHAR(29), and
    separators no value contains (NCHAR(31) between values, NCHAR(30) between rows); rows are ordered by
    that text. NVARCHAR(MAX) keeps STRING_AGG past its 8,000-byte limit; HASHBYTES takes any length
    since SQL Server 2016."""
    row = " + NCHAR(31) + ".join(f"ISNULL(CONVERT(NVARCHAR(MAX), {c}), NCHAR(29))" for c in cols)
    return (f"CONVERT(CHAR(64), HASHBYTES('SHA2_256', ISNULL(STRING_AGG({row}, NCHAR(30)) "
            f"WITHIN GROUP (ORDER BY {row}), N'')), 2)")


def fund_fingerprints(db: Database, id_ejecucion: int, tables: list[str] = ALL_ROW_TABLES) -> dict[str, tuple[int, str]]:
    return {t: fund_rows_fingerprint(db, t, id_ejecucion) for t in tables}


def proceso_row(db: Database, id_proceso: int) -> dict:
    return db.execute("SELECT * FROM logs.vw_Procesos WHERE ID_Proceso = %s", (id_proceso,))[0]


def etapa(db: Database, id_ejecucion: int, nombre: str) -> dict:
    return db.execute("SELECT * FROM logs.vw_Ejecucion_Etapas WHERE ID_Ejecucion = %s AND Etapa = %s",
                      (id_ejecucion, nombre))[0]


def count(db: Database, sql: str, params=()) -> int:
    return int(list(db.execute(sql, params)[0].values())[0])


def take_positions(conn, portfolio: str) -> list[dict]:
    """Remove a portfolio's positions (its feed "did not arrive") and return them, to put back later."""
    rows = conn.execute("SELECT * FROM source.Geneva_Posiciones WHERE Portfolio = %s", (portfolio,))
    conn.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", (portfolio,))
    return rows


def put_back_positions(conn, rows: list[dict]) -> None:
    """The feed is repaired: the positions `take_positions` removed are loaded again."""
    for r in rows:
        conn.execute("INSERT INTO source.Geneva_Posiciones (FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                     "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (r["fechareporte"], r["portfolio"], r["id_instrumento"], r["tipo_instrumento"], r["moneda"],
                      r["cantidad"], r["costolocal"]))
