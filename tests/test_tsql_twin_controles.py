"""The T-SQL of the plausibility checks computes what its executed twin computes (issue 21, as issue 18 for
the stage steps): logs.sp_Controlar_Ejecucion as written in sql/mssql runs on the embedded PostgreSQL
(`fondos_dev.tsql_twin`: its statements translated by sqlglot) for every fund of a day with approved figures
the day before, one fund held, thresholds set so that every state appears (and one exactly at its value),
and the rows it writes are compared, every column, with the PostgreSQL function's. Then a formula, a filter
and a boundary are broken in a copy of the T-SQL, one at a time, and each must be caught."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from fondos.db.connection import database, open_database
from fondos.pipeline import firma, proceso
from fondos_dev.tsql_twin import Runner, as_number, load
from pipeline_helpers import run_all, seed, start

ROOT = Path(__file__).resolve().parents[1]
TSQL = ROOT / "sql" / "mssql" / "logs" / "sp_Controlar_Ejecucion.sql"
D1, D2 = date(2026, 3, 12), date(2026, 3, 13)
COLUMNS = "Control, Estado, Valor, ValorAnterior, Importe, Umbral, FechaAnterior, FechaControl"


def _rows(cur, id_ejecucion: int) -> list[tuple]:
    cur.execute(f"SELECT {COLUMNS} FROM logs.Ejecucion_Controles WHERE ID_Ejecucion = %s ORDER BY Control",
                (id_ejecucion,))
    return cur.fetchall()


def _others(cur, id_ejecucion: int) -> tuple:
    cur.execute("SELECT COUNT(*), SUM(hashtext(t::text)::numeric) FROM logs.Ejecucion_Controles AS t "
                "WHERE ID_Ejecucion <> %s", (id_ejecucion,))
    return tuple(cur.fetchone())


def compare(db, items: list[dict], path: Path = TSQL) -> list[str]:
    """Differences between the T-SQL and the twin, fund by fund; [] when every row, column and result agree."""
    proc = load(path)
    problems = []
    cur = db.conn.cursor()
    for it in items:
        args = {"ID_Ejecucion": it["id_ejecucion"], "FechaReporte": D2, "ID_Fund": it["id_fund"], "FechaAnterior": D1}
        others = _others(cur, it["id_ejecucion"])
        cur.execute("SAVEPOINT twin")
        try:
            cur.execute("SELECT Filas, Retenidos FROM logs.sp_Controlar_Ejecucion(%s, %s, %s, %s)", list(args.values()))
            twin_result = tuple(as_number(v) for v in cur.fetchone())
            twin = _rows(cur, it["id_ejecucion"])
        finally:
            cur.execute("ROLLBACK TO SAVEPOINT twin")
        try:
            runner = Runner(proc, db.conn)
            result = (as_number(runner.run(args)), as_number(runner.values.get("retenidos")))
            tsql = _rows(cur, it["id_ejecucion"])
            if _others(cur, it["id_ejecucion"]) != others:
                problems.append(f"fund {it['id_fund']}: the T-SQL changed other ejecuciones' checks")
        finally:
            cur.execute("ROLLBACK TO SAVEPOINT twin")
        if result != twin_result:
            problems.append(f"fund {it['id_fund']}: (Filas, Retenidos) {result} from the T-SQL, {twin_result} from the twin")
        if tsql != twin:
            problems.append(f"fund {it['id_fund']}: T-SQL rows {tsql} differ from the twin's {twin}")
    return problems


@pytest.fixture(scope="module")
def day(pg_backend, pg_migrated_template):
    """Day 1 approved; day 2 run, fund 101's holdings tripled, thresholds set per fund: (database, items)."""
    with pytest.MonkeyPatch.context() as mp:
        dbname, env_value = pg_backend.create(template=pg_migrated_template)
        mp.setenv("AIRFLOW_CONN_FONDOS_DB", env_value)
        db = open_database()
        try:
            seed(6, 200, D1)
            seed(6, 200, D2)
            items1 = start("twin-d1", D1)
            run_all(items1)
            p1 = items1[0]["id_proceso"]
            proceso.cerrar_proceso(p1)
            firma.controlar(p1)
            firma.firmar(p1, "APROBADO", "ana", clave="twin-d1")
            with database(autocommit=True) as c:
                c.execute("UPDATE source.Geneva_Posiciones SET Cantidad = Cantidad * 3 WHERE Portfolio = 'LAFID001' "
                          "AND FechaReporte = %s", (D2,))
            items = start("twin-d2", D2)
            run_all(items)
            proceso.cerrar_proceso(items[0]["id_proceso"])
            firma.controlar(items[0]["id_proceso"])  # the twin's values, to set thresholds at and around them
            with database(autocommit=True) as c:
                v = {(r["id_fund"], r["control"]): r["valor"] for r in c.execute(
                    "SELECT ID_Fund, Control, Valor FROM logs.vw_Ejecucion_Controles WHERE ID_Proceso = %s",
                    (items[0]["id_proceso"],))}
                for fund, control, umbral in ((102, "PRECIOS", v[(102, "PRECIOS")]),  # exactly at: OK
                                              (103, "PRECIOS", v[(103, "PRECIOS")] - Decimal("0.0001")),  # held
                                              (104, "QUIEBRES", Decimal(0)),
                                              (106, "QUIEBRES_MONTO", v[(106, "QUIEBRES_MONTO")])):
                    c.execute("INSERT INTO config.Fondos_Controles (ID_Fund, Control, Umbral) VALUES (%s, %s, %s)",
                              (fund, control, umbral))
            yield db, items
        finally:
            db.close()
            pg_backend.drop(dbname)


def test_the_tsql_checks_compute_what_the_twin_computes(day):
    db, items = day
    states = set()
    cur = db.conn.cursor()
    for it in items:
        cur.execute("SAVEPOINT s")
        cur.execute("SELECT * FROM logs.sp_Controlar_Ejecucion(%s, %s, %s, %s)", (it["id_ejecucion"], D2, it["id_fund"], D1))
        states |= {r[1] for r in _rows(cur, it["id_ejecucion"])}
        cur.execute("ROLLBACK TO SAVEPOINT s")
    assert states == {"OK", "RETENIDO", "NO_APLICA"}, states  # every state the day can reach, compared below
    assert compare(db, items) == []


def test_a_fund_without_approved_figures_compares_equal_too(day):
    db, items = day
    proc_args = [dict(it) for it in items[:2]]
    cur = db.conn.cursor()
    cur.execute("SAVEPOINT none")
    try:  # withdraw day 1's approval: every PATRIMONIO is SIN_COMPARACION on both sides
        cur.execute("DELETE FROM logs.Ejecucion_Publicaciones")
        assert compare(db, proc_args) == []
        cur.execute("SELECT * FROM logs.sp_Controlar_Ejecucion(%s, %s, %s, %s)",
                    (items[0]["id_ejecucion"], D2, items[0]["id_fund"], D1))
        assert ("PATRIMONIO", "SIN_COMPARACION") in {(r[0], r[1]) for r in _rows(cur, items[0]["id_ejecucion"])}
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT none")


MUTATIONS = [
    ("the net-assets move's 100", "CAST(CAST(100 AS DECIMAL(3, 0)) * ABS(@Patrimonio - @Previo)",
     "CAST(CAST(10 AS DECIMAL(3, 0)) * ABS(@Patrimonio - @Previo)"),
    ("stale prices not counted", "IN ('COSTO', 'ANTERIOR')", "IN ('COSTO')"),
    ("the threshold's boundary", "WHEN v.Valor > ISNULL(fc.Umbral, c.Umbral) THEN 'RETENIDO'",
     "WHEN v.Valor >= ISNULL(fc.Umbral, c.Umbral) THEN 'RETENIDO'"),
    ("a fund's own threshold ignored", "LEFT JOIN config.Fondos_Controles AS fc ON fc.ID_Fund = @ID_Fund",
     "LEFT JOIN config.Fondos_Controles AS fc ON fc.ID_Fund = -1"),
    ("breaks valued without the rate", "* CAST(w.TipoCambio AS DECIMAL(18, 8)), 4", "* 1, 4"),
]


@pytest.mark.parametrize("name, old, new", MUTATIONS, ids=[m[0] for m in MUTATIONS])
def test_each_broken_tsql_check_is_caught(day, tmp_path, name, old, new):
    db, items = day
    text = TSQL.read_text()
    assert text.count(old) == 1, f"the mutation's text is not in {TSQL.name} once: update this test"
    broken = tmp_path / TSQL.name
    shutil.copy(TSQL, broken)
    broken.write_text(text.replace(old, new))
    assert compare(db, items, broken), f"mutation '{name}' of the T-SQL checks was not caught"
