"""The parallel run (plan FASE 4): `fondos comparar`, fondos.pipeline.comparar and
GET /fondos/api/procesos/comparacion compare the new pipeline's run of a date with the legacy v2 writer's.

The legacy side is written here the way the v2 writer does on the migrated schema (see
tests/test_legacy.py, test_runs_written_by_the_legacy_writer_after_the_migration_are_legacy_history): one
shared millisecond-timestamp ID_Ejecucion, no ID_Proceso, extract rows identified by portfolio only, staging
rows by ID_Fund. Its rows are copies of the new pipeline's, so the two agree until differences are planted."""

from __future__ import annotations

import csv
import json
import re
import uuid
from datetime import datetime
from decimal import Decimal

import pytest

from conftest import ROOT
from fondos import cli
from fondos.db.legacy import DATA_TABLES
from fondos.pipeline.comparar import CLAVES, CSV_COLUMNAS, comparar
from fondos_dev.demo import demo_fund
from fondos_dev.demo import seed as demo_seed
from pipeline_helpers import FECHA, run_all, start

V2_ID = int(datetime(2026, 3, 16, 7, 0).timestamp() * 1000)  # the v2 backend's clock id
A, B, C, D = 101, 102, 103, 104


def _cli(capsys, *argv) -> tuple[int, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out + out.err


def _columns(db, tabla: str) -> list[str]:
    schema, name = tabla.split(".")
    return [r["c"] for r in db.execute(
        "SELECT column_name AS c FROM information_schema.columns WHERE LOWER(table_schema) = %s "
        "AND LOWER(table_name) = %s ORDER BY ordinal_position", (schema.lower(), name.lower()))]


def _write_v2_run(db, items: list[dict], v2_id: int = V2_ID) -> None:
    """The v2 writer's run of the same date: logs.Ejecuciones (no ID_Proceso) and logs.Ejecucion_Fondos rows,
    and every extract/staging row under the one shared id (extract rows carry no ID_Fund). Then a later v2
    attempt of the date that failed before writing anything: the OK run is the one compared."""
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, TotalFondos, FechaInicio) "
               "VALUES (%s, %s, %s, %s, %s, %s)", (v2_id, FECHA, "EN_PROGRESO", "node-backend", len(items),
                                                   datetime(2026, 3, 16, 7, 0)))
    for it in items:
        f = db.execute("SELECT FundShortName, Portfolio_Geneva, Portfolio_CAPM, Portfolio_Derivados, Portfolio_UBS "
                       "FROM logs.Ejecucion_Fondos WHERE ID_Ejecucion = %s", (it["id_ejecucion"],))[0]
        db.execute("INSERT INTO logs.Ejecucion_Fondos (ID_Ejecucion, ID_Fund, FundShortName, Portfolio_Geneva, "
                   "Portfolio_CAPM, Portfolio_Derivados, Portfolio_UBS, Estado_Process_IPA, Estado_Process_CAPM, "
                   "Estado_Process_PNL) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                   (v2_id, it["id_fund"], f["fundshortname"], f["portfolio_geneva"], f["portfolio_capm"],
                    f["portfolio_derivados"], f["portfolio_ubs"], "OK", "OK", "OK"))
    ids = [it["id_ejecucion"] for it in items]
    for tabla in DATA_TABLES:
        cols = [c for c in _columns(db, tabla) if c.lower() != "id_ejecucion"
                and not (tabla.startswith("extract.") and c.lower() == "id_fund")]
        db.execute(f"INSERT INTO {tabla} (ID_Ejecucion, {', '.join(cols)}) SELECT %s, {', '.join(cols)} "
                   f"FROM {tabla} WHERE ID_Ejecucion IN ({', '.join(['%s'] * len(ids))})", [v2_id, *ids])
    db.execute("UPDATE logs.Ejecuciones SET Estado = 'OK', FechaFin = %s, FondosExitosos = %s WHERE ID_Ejecucion = %s",
               (datetime(2026, 3, 16, 7, 30), len(items), v2_id))
    db.execute("INSERT INTO logs.Ejecuciones (ID_Ejecucion, FechaReporte, Estado, Usuario, TotalFondos, FechaInicio) "
               "VALUES (%s, %s, %s, %s, %s, %s)", (v2_id + 3_600_000, FECHA, "ERROR", "node-backend", 0,
                                                   datetime(2026, 3, 16, 8, 0)))
    db.commit()


def _parallel_day(db, funds: int = 4) -> list[dict]:
    demo_seed(db, FECHA, funds, 5)
    items = start(f"paralelo-{uuid.uuid4().hex[:6]}", fecha=FECHA)
    run_all(items)
    _write_v2_run(db, items)
    return items


def _first(db, sql: str, params) -> str:
    return db.execute(sql, params)[0]["v"]


def _plant(db) -> set[tuple]:
    """Known differences in the legacy copy; returns the (fund, table, key, column, type) the report must hold."""
    worktable = "SELECT ID_Instrumento AS v FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s AND ID_Fund = %s " \
                "ORDER BY ID_Instrumento"
    off, near = [r["v"] for r in db.execute(worktable, (V2_ID, B))][:2]
    db.execute("UPDATE staging.IPA_WorkTable SET ValorMercadoBase = ValorMercadoBase + %s WHERE ID_Ejecucion = %s "
               "AND ID_Fund = %s AND ID_Instrumento = %s", (Decimal("0.01"), V2_ID, B, off))
    db.execute("UPDATE staging.IPA_WorkTable SET PrecioLocal = PrecioLocal + %s WHERE ID_Ejecucion = %s "
               "AND ID_Fund = %s AND ID_Instrumento = %s", (Decimal("0.00005"), V2_ID, B, near))  # within 0.0001
    db.execute("DELETE FROM extract.SONA WHERE ID_Ejecucion = %s AND Portfolio = %s AND Moneda = %s",
               (V2_ID, demo_fund(3).geneva, "USD"))
    dup = _first(db, "SELECT MIN(ID_Instrumento) AS v FROM extract.IPA WHERE ID_Ejecucion = %s AND Portfolio = %s",
                 (V2_ID, demo_fund(1).geneva))
    db.execute("INSERT INTO extract.IPA SELECT * FROM extract.IPA WHERE ID_Ejecucion = %s AND Portfolio = %s "
               "AND ID_Instrumento = %s", (V2_ID, demo_fund(1).geneva, dup))
    db.commit()
    return {
        (B, "staging.IPA_WorkTable", f"id_instrumento={off}", "valormercadobase", "valor"),
        (B, "staging.IPA_WorkTable", "", "valormercadobase", "suma"),
        (C, "extract.SONA", f"portfolio={demo_fund(3).geneva}, moneda=USD", "", "solo_nuevo"),
        (C, "extract.SONA", "", "", "filas"),
        (C, "extract.SONA", "", "saldo", "suma"),
        (A, "extract.IPA", f"portfolio={demo_fund(1).geneva}, id_instrumento={dup}", "", "solo_legado"),
        (A, "extract.IPA", "", "", "filas"),
        (A, "extract.IPA", "", "cantidad", "suma"),
        (A, "extract.IPA", "", "costolocal", "suma"),
    }


def _found(r) -> list[tuple]:
    return [(d.id_fund, d.tabla, d.clave, d.columna, d.tipo) for d in r.diferencias]


def test_a_copy_of_the_new_run_agrees_and_exactly_the_planted_differences_are_reported(db, capsys, tmp_path,
                                                                                       monkeypatch):
    items = _parallel_day(db)
    r = comparar(db, FECHA)
    assert (r.id_proceso, r.id_legado, r.estado_legado) == (items[0]["id_proceso"], V2_ID, "OK")  # OK before later
    assert r.coincide and r.diferencias == []
    assert [(f.id_fund, f.presente, len(f.tablas)) for f in r.fondos] == [(k, "ambos", len(DATA_TABLES))
                                                                          for k in (A, B, C, D)]
    for f in r.fondos:
        assert f.filas_nuevo == f.filas_legado > 0 and f.filas_distintas == 0
        assert all(t.filas_nuevo == t.filas_legado and all(a == b for a, b in t.sumas.values()) for t in f.tablas)
    monkeypatch.chdir(tmp_path)
    code, out = _cli(capsys, "comparar", "--fecha", FECHA.isoformat())
    assert code == 0 and "everything agrees: 4 fund(s), 19 table(s) each" in out
    default_csv = tmp_path / "comparacion_2026-03-13.csv"
    assert str(default_csv) in out and default_csv.read_text().splitlines() == [",".join(CSV_COLUMNAS)]

    planted = _plant(db)
    r = comparar(db, FECHA)
    assert set(_found(r)) == planted and len(r.diferencias) == len(planted)
    by_kind = {(d.id_fund, d.tabla, d.tipo, d.columna): d for d in r.diferencias}
    valor = by_kind[(B, "staging.IPA_WorkTable", "valor", "valormercadobase")]
    assert valor.diferencia == Decimal("-0.01") and valor.valor_legado - valor.valor_nuevo == Decimal("0.01")
    assert (by_kind[(A, "extract.IPA", "filas", "")].valor_nuevo, by_kind[(A, "extract.IPA", "filas", "")].valor_legado) \
        == (5, 6)
    fondos = {f.id_fund: f for f in r.fondos}
    assert (fondos[A].filas_legado - fondos[A].filas_nuevo, fondos[C].filas_nuevo - fondos[C].filas_legado) == (1, 1)
    assert [fondos[k].filas_distintas for k in (A, B, C, D)] == [1, 1, 1, 0]  # 0.00005 is no difference
    assert fondos[D].diferencias == 0

    code, out = _cli(capsys, "comparar", "--fecha", FECHA.isoformat(), "--csv", str(tmp_path / "c.csv"))
    assert code == 3 and "9 difference(s) in 3 fund(s)" in out and "valormercadobase" in out
    with open(tmp_path / "c.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == list(CSV_COLUMNAS)
    assert {(int(x["ID_Fund"]), x["tabla"], x["clave"], x["columna"], x["tipo"]) for x in rows} == planted
    assert len(rows) == len(planted) and {x["fecha"] for x in rows} == {"2026-03-13"}
    line = next(x for x in rows if x["tipo"] == "valor")
    assert line["diferencia"] == "-0.0100" and line["FundShortName"] == demo_fund(2).short_name
    assert Decimal(line["valor_legado"]) - Decimal(line["valor_nuevo"]) == Decimal("0.01")
    # a wider tolerance swallows the 0.01
    code, _ = _cli(capsys, "comparar", "--fecha", FECHA.isoformat(), "--csv", str(tmp_path / "t.csv"),
                   "--tolerancia", "0.02")
    assert code == 3 and "valormercadobase" not in (tmp_path / "t.csv").read_text()


def test_a_fund_only_in_the_legacy_run_is_reported_and_sides_can_be_chosen(db):
    items = _parallel_day(db, funds=2)
    second = start("solo-101", fecha=FECHA, fondos=[A])  # the latest proceso of the date: fund 101 only
    run_all(second)
    r = comparar(db, FECHA)
    assert r.id_proceso == second[0]["id_proceso"]
    assert [(f.id_fund, f.presente, f.id_ejecucion) for f in r.fondos] == [
        (A, "ambos", second[0]["id_ejecucion"]), (B, "solo_legado", None)]
    assert {d.tipo for d in r.diferencias if d.id_fund == A} == set()
    only = [d for d in r.diferencias if d.id_fund == B]
    assert (B, "logs.Ejecucion_Fondos", "", "", "solo_legado") in _found(r)
    assert {d.tipo for d in only} == {"solo_legado", "filas", "suma"}
    assert sum(d.tipo == "solo_legado" for d in only) == 1 + r.fondos[1].filas_legado  # the fund, then each row
    assert comparar(db, FECHA, id_proceso=items[0]["id_proceso"]).coincide  # the first proceso: both funds
    r = comparar(db, FECHA, id_legado=V2_ID + 3_600_000)  # the failed v2 attempt: nothing written
    assert not r.coincide and (r.id_legado, r.estado_legado) == (V2_ID + 3_600_000, "ERROR")


def test_a_missing_side_is_one_message_saying_what_to_do_and_exit_1(db, capsys, tmp_path):
    code, out = _cli(capsys, "comparar", "--fecha", FECHA.isoformat(), "--csv", str(tmp_path / "x.csv"))
    assert code == 1 and "no proceso of procesos_diarios for 2026-03-13 in logs.vw_Procesos" in out
    assert "trigger procesos_diarios" in out and "--proceso ID" in out
    demo_seed(db, FECHA, 1, 5)
    start("solo-nuevo", fecha=FECHA)
    code, out = _cli(capsys, "comparar", "--fecha", FECHA.isoformat(), "--csv", str(tmp_path / "x.csv"))
    assert code == 1 and out.strip() == (
        "fondos: error: no legacy run for 2026-03-13 in logs.Ejecuciones: the parallel run compares against the v2 "
        "writer's run of the same date; run the v2 writer for that date, or pass --legado ID")
    code, out = _cli(capsys, "comparar", "--fecha", FECHA.isoformat(), "--legado", "1761177600123")
    assert code == 1 and "1761177600123 is not a legacy run of 2026-03-13" in out
    assert not (tmp_path / "x.csv").exists()


def test_a_login_that_may_not_read_the_tables_is_told_so(db, capsys, monkeypatch):
    """The least-privilege roles read views only (018, 026): the comparison needs the tables."""
    import os

    if db.dialect != "postgres":
        pytest.skip("the login is made with PostgreSQL's CREATE ROLE; SQL Server's roles are the same grants")
    demo_seed(db, FECHA, 1, 5)
    _write_v2_run(db, start("lector", fecha=FECHA))
    role = f"t_lector_{uuid.uuid4().hex[:8]}"
    db.execute_script(f"CREATE ROLE {role} LOGIN IN ROLE fondos_lector")
    db.commit()
    owner = os.environ["AIRFLOW_CONN_FONDOS_DB"]
    try:
        monkeypatch.setenv("AIRFLOW_CONN_FONDOS_DB", json.dumps(dict(json.loads(owner), login=role)))
        code, out = _cli(capsys, "comparar", "--fecha", FECHA.isoformat())
        assert code == 1 and "this login may not read" in out and "SELECT on them" in out
    finally:
        monkeypatch.setenv("AIRFLOW_CONN_FONDOS_DB", owner)
        db.execute_script(f"DROP OWNED BY {role}; DROP ROLE {role}")
        db.commit()


def test_the_api_answers_the_comparison_404_for_a_missing_side_and_422_for_a_bad_date(db, airflow_metadata):
    from airflow.api_fastapi.app import create_app, purge_cached_app
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser
    from airflow.api_fastapi.core_api.security import get_auth_manager
    from fastapi.testclient import TestClient

    _parallel_day(db)
    planted = _plant(db)
    purge_cached_app()
    client = TestClient(create_app("core"), raise_server_exceptions=False)
    token = get_auth_manager().generate_jwt(SimpleAuthManagerUser(username="u_viewer", role="VIEWER"))
    headers = {"Authorization": f"Bearer {token}"}

    r = client.get(f"/fondos/api/procesos/comparacion?fecha={FECHA}", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["id_legado"], body["coincide"], body["total_diferencias"], body["truncado"]) == (
        V2_ID, False, len(planted), False)
    assert {(d["id_fund"], d["tabla"], d["clave"], d["columna"], d["tipo"]) for d in body["diferencias"]} == planted
    assert next(d for d in body["diferencias"] if d["tipo"] == "valor")["diferencia"] == "-0.0100"
    assert [(f["id_fund"], f["filas_distintas"]) for f in body["fondos"]] == [(A, 1), (B, 1), (C, 1), (D, 0)]
    capped = client.get(f"/fondos/api/procesos/comparacion?fecha={FECHA}&limite=2", headers=headers).json()
    assert (len(capped["diferencias"]), capped["total_diferencias"], capped["truncado"]) == (2, len(planted), True)
    missing = client.get("/fondos/api/procesos/comparacion?fecha=2026-03-12", headers=headers)
    assert missing.status_code == 404 and "no proceso of procesos_diarios for 2026-03-12" in missing.json()["detail"]
    legacy = client.get(f"/fondos/api/procesos/comparacion?fecha={FECHA}&legado=42", headers=headers)
    assert legacy.status_code == 404 and "42 is not a legacy run of 2026-03-13" in legacy.json()["detail"]
    for bad in ("13/03/2026", "2026-02-30"):
        assert client.get(f"/fondos/api/procesos/comparacion?fecha={bad}", headers=headers).status_code == 422
    assert client.get(f"/fondos/api/procesos/comparacion?fecha={FECHA}").status_code == 401


@pytest.mark.parametrize("dialect", ["postgres", "mssql"])
def test_the_natural_keys_are_019s_unique_keys_without_id_ejecucion(dialect):
    text = (ROOT / "migrations" / dialect / "019_UNIQUE_KEYS_PER_EJECUCION.sql").read_text()
    found = {m.group(1): tuple(c.strip() for c in m.group(2).split(","))
             for m in re.finditer(r"\bON\s+(\w+\.\w+)\s*\(([^)]*)\)", text)}
    assert set(found) == set(DATA_TABLES) == set(CLAVES)
    assert {t: cols[1:] for t, cols in found.items()} == CLAVES
    assert all(cols[0] == "ID_Ejecucion" for cols in found.values())
