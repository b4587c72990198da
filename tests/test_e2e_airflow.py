"""End to end with the real components: Airflow API server, scheduler and DAG
processor (LocalExecutor) on a temporary AIRFLOW_HOME, driven through the REST
API exactly as an operator would at 7 a.m.:

1. trigger procesos_diarios with conf {"fecha": ...} while one fund's source
   data is missing; the run fails, the other funds are OK;
2. repair the data; clear exactly that fund's failed mapped task
   ([task_id, map_index], not a dry run) with its downstream;
3. only that fund runs again, its rows are present once, every other fund's
   rows are byte-for-byte unchanged, and the proceso shows every fund OK;
4. an invalid fecha is refused by the API and creates nothing.

Every wait is bounded; on a timeout the task and component logs are printed.
"""

from __future__ import annotations

import os
import time

import pytest

from fondos.airflow_env import LocalAirflow
from fondos.db import database, open_database
from fondos.migrate import migrate

pytestmark = pytest.mark.e2e

FECHA = "2026-03-13"
N_FUNDS = 3
FAILING = {"map_index": 1, "id_fund": 102, "portfolio": "LAFID002"}


@pytest.fixture
def stack(fresh_pg_db, tmp_path):
    db = open_database()
    migrate(db)
    db.close()
    af = LocalAirflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4)
    af.home.mkdir()
    af.start()
    try:
        yield af
    except (TimeoutError, RuntimeError):
        print(af.logs())
        raise
    finally:
        af.stop()


def _snapshot(conn, exclude_fund: int):
    from pipeline_helpers import fund_fingerprints

    rows = conn.execute("SELECT ID_Ejecucion, ID_Fund FROM logs.Ejecuciones WHERE ID_Fund <> %s", (exclude_fund,))
    return {r["id_fund"]: fund_fingerprints(conn, r["id_ejecucion"]) for r in rows}


def test_trigger_fail_repair_clear_one_fund_and_invalid_fecha(stack):
    from pipeline_helpers import count, seed

    af = stack
    seed(N_FUNDS, 30)
    with database(autocommit=True) as conn:
        saved = conn.execute("SELECT * FROM source.Geneva_Posiciones WHERE Portfolio = %s", (FAILING["portfolio"],))
        conn.execute("DELETE FROM source.Geneva_Posiciones WHERE Portfolio = %s", (FAILING["portfolio"],))

    af.ready("procesos_diarios")

    # 4. an invalid fecha is refused at the door and creates nothing
    status, body = af.trigger("procesos_diarios", {"fecha": "2026-02-30"})
    assert status == 400, body
    assert af.api("GET", "/dags/procesos_diarios/dagRuns")[1]["total_entries"] == 0

    # 1. trigger; the run fails because fund 102 has no positions
    status, body = af.trigger("procesos_diarios", {"fecha": FECHA})
    assert status == 200, body
    run_id = body["dag_run_id"]
    started = time.monotonic()
    state = af.wait_run("procesos_diarios", run_id, 600)
    first_run_s = time.monotonic() - started
    assert state == "failed"

    with database(autocommit=True) as conn:
        p = conn.execute("SELECT * FROM logs.vw_Procesos")[0]
        assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("ERROR", N_FUNDS - 1, 1)
        before = _snapshot(conn, FAILING["id_fund"])
        attempts_before = {r["id_fund"]: r["intentos"] for r in conn.execute(
            "SELECT ID_Fund, SUM(Intentos) AS intentos FROM logs.vw_Ejecucion_Etapas GROUP BY ID_Fund")}
        # 2. repair the fund's source data
        for r in saved:
            conn.execute("INSERT INTO source.Geneva_Posiciones (FechaReporte, Portfolio, ID_Instrumento, Tipo_Instrumento, "
                         "Moneda, Cantidad, CostoLocal) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                         (r["fechareporte"], r["portfolio"], r["id_instrumento"], r["tipo_instrumento"], r["moneda"],
                          r["cantidad"], r["costolocal"]))

    # ... and clear exactly that fund's failed mapped task, with its downstream
    status, body = af.api("POST", "/dags/procesos_diarios/clearTaskInstances", {
        "dry_run": False, "dag_run_id": run_id, "task_ids": [["procesar_fondo.ipa", FAILING["map_index"]]],
        "include_downstream": True, "only_failed": True, "reset_dag_runs": True,
    })
    assert status == 200, body
    cleared = {(ti["task_id"], ti["map_index"]) for ti in body["task_instances"]}
    assert ("procesar_fondo.ipa", FAILING["map_index"]) in cleared
    assert all(mi in (FAILING["map_index"], -1) for _, mi in cleared), cleared  # no other fund is cleared

    started = time.monotonic()
    state = af.wait_run("procesos_diarios", run_id, 600)
    retry_s = time.monotonic() - started
    assert state == "success"

    # 3. only that fund ran again; everyone else is byte-for-byte unchanged; figures show every fund OK
    with database(autocommit=True) as conn:
        p = conn.execute("SELECT * FROM logs.vw_Procesos")[0]
        assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("OK", N_FUNDS, 0)
        assert count(conn, "SELECT COUNT(*) FROM logs.Procesos") == 1  # clearing never creates a second proceso
        assert _snapshot(conn, FAILING["id_fund"]) == before
        attempts_after = {r["id_fund"]: r["intentos"] for r in conn.execute(
            "SELECT ID_Fund, SUM(Intentos) AS intentos FROM logs.vw_Ejecucion_Etapas GROUP BY ID_Fund")}
        assert {f: n for f, n in attempts_after.items() if f != FAILING["id_fund"]} == {
            f: n for f, n in attempts_before.items() if f != FAILING["id_fund"]}
        assert attempts_after[FAILING["id_fund"]] > attempts_before[FAILING["id_fund"]]
        failing = conn.execute("SELECT ID_Ejecucion FROM logs.Ejecuciones WHERE ID_Fund = %s",
                               (FAILING["id_fund"],))[0]["id_ejecucion"]
        assert count(conn, "SELECT COUNT(*) FROM extract.IPA WHERE ID_Ejecucion = %s", (failing,)) == len(saved)
        assert count(conn, "SELECT COUNT(*) FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s", (failing,)) == len(saved)
    print(f"\ne2e: first run {first_run_s:.1f}s, retry of one fund {retry_s:.1f}s")
