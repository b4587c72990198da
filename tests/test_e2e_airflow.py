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

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from fondos.db import database, open_database
from fondos.migrate import migrate

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
AIRFLOW = Path(sys.executable).parent / "airflow"
FECHA = "2026-03-13"
N_FUNDS = 3
FAILING = {"map_index": 1, "id_fund": 102, "portfolio": "LAFID002"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Airflow:
    def __init__(self, home: Path, fund_db_env: str):
        self.home = home
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ)
        self.env.update({
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API_AUTH__JWT_SECRET": "e2e-test-secret-not-for-production",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "5",
            "AIRFLOW_CONN_FONDOS_DB": fund_db_env,
            # manual runs only: an unpaused scheduled DAG would also get the latest scheduled run
            "FONDOS_SCHEDULE": "none",
        })
        self.env.pop("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", None)
        self.procs: dict[str, subprocess.Popen] = {}

    def run(self, *args):
        subprocess.run([str(AIRFLOW), *args], env=self.env, check=True, stdout=subprocess.DEVNULL, timeout=300)

    def start(self):
        self.run("db", "migrate")
        self.run("pools", "set", "fondos_db", "4", "fund database")
        for name, args in (("api-server", ["api-server", "--port", str(self.port)]),
                           ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])):
            log = open(self.home / f"{name}.out", "w")  # noqa: SIM115 - closed with the process
            self.procs[name] = subprocess.Popen([str(AIRFLOW), *args], env=self.env, stdout=log,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self):
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/api/v2{path}", data=data, method=method,  # noqa: S310 - local server
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own local server
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def wait_for(self, what: str, predicate, timeout: float, interval: float = 2.0):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    self.dump_logs()
                    pytest.fail(f"airflow {name} exited with {p.returncode} while waiting for {what}")
            try:
                last = predicate()
                if last:
                    return last
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = exc
            time.sleep(interval)
        self.dump_logs()
        pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")

    def dump_logs(self):
        for f in sorted(self.home.glob("*.out")):
            print(f"===== {f.name} (tail) =====\n" + "\n".join(f.read_text(errors="replace").splitlines()[-60:]))
        for f in sorted((self.home / "logs").rglob("*.log")):
            print(f"===== {f.relative_to(self.home)} (tail) =====\n"
                  + "\n".join(f.read_text(errors="replace").splitlines()[-25:]))

    def run_state(self, run_id: str):
        status, body = self.api("GET", f"/dags/procesos_diarios/dagRuns/{run_id}")
        return body.get("state") if status == 200 else None


@pytest.fixture
def stack(fresh_pg_db, tmp_path):
    db = open_database()
    migrate(db)
    db.close()
    af = Airflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"])
    af.home.mkdir()
    af.start()
    try:
        yield af
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

    af.wait_for("the API server", lambda: af.api("GET", "/version")[0] == 200, 180)
    af.wait_for("the DAG to be parsed", lambda: af.api("GET", "/dags/procesos_diarios")[0] == 200, 180)
    af.api("PATCH", "/dags/procesos_diarios", {"is_paused": False})

    # 4. an invalid fecha is refused at the door and creates nothing
    status, body = af.api("POST", "/dags/procesos_diarios/dagRuns", {"logical_date": None, "conf": {"fecha": "2026-02-30"}})
    assert status == 400, body
    assert af.api("GET", "/dags/procesos_diarios/dagRuns")[1]["total_entries"] == 0

    # 1. trigger; the run fails because fund 102 has no positions
    status, body = af.api("POST", "/dags/procesos_diarios/dagRuns", {"logical_date": None, "conf": {"fecha": FECHA}})
    assert status == 200, body
    run_id = body["dag_run_id"]
    started = time.monotonic()
    state = af.wait_for("the first run to finish", lambda: af.run_state(run_id) in ("success", "failed")
                        and af.run_state(run_id), 600)
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
    state = af.wait_for("the cleared run to finish", lambda: af.run_state(run_id) in ("success", "failed")
                        and af.run_state(run_id), 600)
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
