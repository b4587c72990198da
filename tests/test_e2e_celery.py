"""CeleryExecutor end to end, as a scaled-out installation runs it: a project-run Redis as the broker,
Airflow's metadata (and Celery's results) in PostgreSQL, the API server, scheduler, DAG processor and two
Celery workers with distinct names, each in its own process group.

A 10-fund proceso runs while every IPA insert waits behind a table lock the test holds, so both workers
are surely mid-stage; one worker is then SIGKILLed with all its processes (a machine lost). Airflow must
notice the lost tasks (heartbeat timeout, set to seconds here), retry them on the surviving worker, and
the run must end correct: every fund OK, its rows once, its figures equal to the oracle's.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import pytest

from e2e_helpers import alive
from fondos.db.connection import database, open_database
from fondos.db.migrate import migrate
from fondos_dev.local_airflow import LocalAirflow
from oracle_check import day_differences
from pipeline_helpers import count, seed

pytestmark = [pytest.mark.e2e, pytest.mark.celery, pytest.mark.xdist_group("airflow-b")]

FECHA = date(2026, 3, 13)
N_FUNDS = 6  # four IPA tasks running on the two workers when one dies, two more queued behind them
POSITIONS = 30
IPA = "procesar_fondo.ipa"


def _task_instances(af, run_id: str) -> list[dict]:
    status, body = af.api("GET", f"/dags/procesos_diarios/dagRuns/{run_id}/taskInstances?limit=1000")
    assert status == 200, body
    return body["task_instances"]


def _tries(af, run_id: str, task_id: str, map_index: int) -> list[dict]:
    status, body = af.api("GET", f"/dags/procesos_diarios/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries")
    assert status == 200, body
    return body["task_instances"]


def test_two_celery_workers_one_sigkilled_mid_run_the_run_ends_correct(fresh_pg_db, airflow_pg_metadata, tmp_path):
    db = open_database()
    migrate(db)
    db.close()
    seed(N_FUNDS, POSITIONS)
    af = LocalAirflow(tmp_path / "airflow", os.environ["AIRFLOW_CONN_FONDOS_DB"], parallelism=4,
                      executor="celery", workers=2, metadata=airflow_pg_metadata, extra={
                          "FONDOS_RETRY_DELAY_S": "1",
                          # a lost task is one whose heartbeat (every 2 s) has not arrived for 15 s
                          "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
                          "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
                          "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
                          # a task the dead worker had taken from the queue but not started
                          "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
                          "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "5",
                      })
    af.home.mkdir()
    holder = open_database()
    try:
        af.start()
        af.ready("procesos_diarios")
        assert set(af.worker_names()) == {"worker1", "worker2"}
        holder.execute("LOCK TABLE extract.IPA IN SHARE MODE")  # every IPA_00 insert waits behind it
        status, body = af.trigger("procesos_diarios", {"fecha": FECHA.isoformat()})
        assert status == 200, body
        run_id = body["dag_run_id"]

        def both_workers_busy():
            """Every slot of both workers (concurrency 2 each) holds a running IPA task: none is merely taken from
            the queue, which only the queued-task timeout would recover (a minute here)."""
            running = [ti for ti in _task_instances(af, run_id) if ti["task_id"] == IPA and ti["state"] == "running"]
            hosts = sorted(ti["hostname"] for ti in running)
            if hosts != ["worker1", "worker1", "worker2", "worker2"]:
                return None
            # ... and each of them is inside its stage (EN_PROGRESO recorded, IPA_00 waiting on the lock), not
            # still starting up: a task killed before it recorded its attempt leaves no attempt to count
            with database(autocommit=True) as conn:
                started = count(conn, "SELECT COUNT(*) FROM logs.vw_Ejecucion_Etapas WHERE Etapa = 'IPA' "
                                      "AND Estado = 'EN_PROGRESO'")
            return running if started >= 4 else None

        assert af.env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] == "2"
        running = af.wait_for("IPA tasks running on both Celery workers", both_workers_busy, 240, interval=0.5)
        lost = sorted(ti["map_index"] for ti in running if ti["hostname"] == "worker2")
        af.kill("worker2")  # the worker, its pool and its task processes: SIGKILL, no goodbye
        killed_at = time.monotonic()
        holder.rollback()
        assert af.wait_run("procesos_diarios", run_id, 600) == "success"
        print(f"\ncelery: {len(lost)} task(s) lost with worker2 (map indexes {lost}); "
              f"the run ended {time.monotonic() - killed_at:.1f} s after the kill")

        # Airflow's records: the lost tasks ran first on worker2, were detected and re-run on worker1
        # the funds the lost tasks belong to: the label a task renders when it ends is "<ID_Fund> <short name>"
        lost_funds = {int(ti["rendered_map_index"].split()[0]) for ti in _task_instances(af, run_id)
                      if ti["task_id"] == IPA and ti["map_index"] in lost}
        assert len(lost_funds) == len(lost), lost_funds
        every_try = [t for ti in _task_instances(af, run_id) if ti["map_index"] >= 0
                     for t in _tries(af, run_id, ti["task_id"], ti["map_index"])]
        assert {t["hostname"] for t in every_try} == {"worker1", "worker2"}
        for map_index in lost:
            tries = sorted(_tries(af, run_id, IPA, map_index), key=lambda t: t["try_number"])
            assert tries[0]["hostname"] == "worker2" and tries[0]["state"] != "success", tries
            assert (tries[-1]["hostname"], tries[-1]["state"]) == ("worker1", "success"), tries
            assert tries[-1]["try_number"] >= 2
        assert all(t["hostname"] == "worker1" for t in every_try if t["try_number"] > 1 or t["task_id"] != IPA), \
            "after the kill, only worker1 can have run anything"

        with database(autocommit=True) as conn:
            p = conn.execute("SELECT Estado, FondosExitosos, FondosFallidos FROM logs.vw_Procesos")[0]
            assert (p["estado"], p["fondosexitosos"], p["fondosfallidos"]) == ("OK", N_FUNDS, 0)
            problems = day_differences(conn, FECHA, N_FUNDS, POSITIONS)
            assert not problems, "figures differ from the oracle:\n" + "\n".join(problems[:20])
            retried = conn.execute("SELECT ID_Fund, Etapa, Estado, Mensaje, Intentos FROM logs.vw_Ejecucion_Etapas "
                                   "WHERE Intentos > 1")
            # exactly the lost funds' IPA ran twice, and each says its first attempt died
            assert {(r["id_fund"], r["etapa"]) for r in retried} == \
                {(f, "IPA") for f in lost_funds}, retried
            for r in retried:
                assert r["estado"] == "OK" and r["intentos"] == 2, r
                assert (r["mensaje"].startswith("attempt 1 was interrupted")
                        or "IPA try 1 failed (the task process died without reporting" in r["mensaje"]), r
    except (TimeoutError, RuntimeError, AssertionError):
        print(af.logs())
        raise
    finally:
        holder.close()
        redis_pid = af.redis.proc.pid if af.redis.proc else None
        af.stop()
    assert alive(af) == [], "Airflow, Celery or task processes outlived stop()"
    assert redis_pid is not None and not Path(f"/proc/{redis_pid}").exists(), "redis-server outlived stop()"
