"""Scaled out over hosts of their own (network namespaces, everything over TCP), and losing them.

- host `db`: the fund database and Airflow's metadata (one PostgreSQL server) and Redis, the Celery broker;
- host `ctl`: the API server, the scheduler and the DAG processor;
- hosts `w1` and `w2`: one Celery worker each;
- host `ctl2`: a second scheduler, for the second day.

Day 1: while both workers are inside their IPA stages, w2's cable is pulled (its processes live on, cut off).
Airflow must notice its silent tasks (the heartbeat timeout), run them again on w1, and the day must end OK
with every fund's rows once and equal to the oracle; the database must have let go of w2's transactions.

Day 2: a second scheduler runs on its own host beside the first; the first is killed (SIGKILL, its host
gone) mid-run; the second finishes the day, and queues tasks after the first is dead.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime

import pytest

from e2e_helpers import alive
from hosts import Network, Postgres, Redis, can_build

pytestmark = [pytest.mark.e2e, pytest.mark.celery, pytest.mark.hosts]

DAY1, DAY2 = date(2026, 3, 13), date(2026, 3, 16)
N_FUNDS = 6
POSITIONS = 30
IPA = "procesar_fondo.ipa"
DAG = "procesos_diarios"

# What Airflow needs to lose a host and go on: set by the project for its deployments (deploy/values.yaml,
# docs/airflow.md "Hosts of their own"), here in seconds so the test takes minutes.
HA_SETTINGS = {
    "FONDOS_RETRY_DELAY_S": "1",
    # a task whose heartbeat (every 2 s) has not arrived for 15 s is failed, and retried elsewhere
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "2",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "15",
    "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "2",
    # a task a lost worker had taken from the queue but not started
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "60",
    "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT_CHECK_INTERVAL": "5",
    # a scheduler silent for 10 s is dead; the survivor adopts its tasks, looking every 5 s
    "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "2",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_THRESHOLD": "10",
    "AIRFLOW__SCHEDULER__ORPHANED_TASKS_CHECK_INTERVAL": "5",
}


def _task_instances(af, run_id: str) -> list[dict]:
    status, body = af.api("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances?limit=1000")
    assert status == 200, body
    return body["task_instances"]


def _tries(af, run_id: str, task_id: str, map_index: int) -> list[dict]:
    status, body = af.api("GET", f"/dags/{DAG}/dagRuns/{run_id}/taskInstances/{task_id}/{map_index}/tries")
    assert status == 200, body
    return body["task_instances"]


def _check_day(fecha: date) -> None:
    """The day's proceso OK; each fund's rows once and equal to the oracle."""
    from fondos.db.connection import database
    from oracle_check import day_differences

    with database(autocommit=True) as conn:
        p = conn.execute("SELECT Estado, FondosExitosos, FondosFallidos FROM logs.vw_Procesos WHERE FechaReporte = %s",
                         (fecha,))
        assert [(r["estado"], r["fondosexitosos"], r["fondosfallidos"]) for r in p] == [("OK", N_FUNDS, 0)], p
        problems = day_differences(conn, fecha, N_FUNDS, POSITIONS)
        assert not problems, "figures differ from the oracle:\n" + "\n".join(problems[:20])


def test_hosts_of_their_own_a_worker_cut_off_then_a_scheduler_lost(tmp_path, monkeypatch):
    why_not = can_build()  # here, not at collection: it builds two namespaces to see traffic cross the bridge
    if why_not:
        pytest.skip(f"hosts of their own cannot be built here: {why_not}")
    from fondos.db.connection import database, open_database
    from fondos.db.migrate import migrate
    from fondos_dev.local_airflow import LocalAirflow
    from pipeline_helpers import count, seed

    af = db_server = redis = None
    leftovers = []
    with Network() as net:
        db_host, ctl, w1, w2, ctl2 = (net.add(n) for n in ("db", "ctl", "w1", "w2", "ctl2"))
        try:
            db_server = Postgres(db_host)
            db_server.start()
            fund_db = json.dumps({"conn_type": "postgres", "host": db_host.address, "port": db_server.port,
                                  "login": "postgres", "schema": "fondos"})
            db_server.create_database("fondos")
            metadata = db_server.create_database("airflow").replace("postgresql://", "postgresql+psycopg2://")
            redis = Redis(db_host, tmp_path / "redis")
            redis.start()
            monkeypatch.setenv("AIRFLOW_CONN_FONDOS_DB", fund_db)
            db = open_database()
            migrate(db)
            db.close()
            seed(N_FUNDS, POSITIONS, DAY1)
            seed(N_FUNDS, POSITIONS, DAY2)

            af = LocalAirflow(tmp_path / "airflow", fund_db, parallelism=4, executor="celery", workers=2,
                              metadata=metadata, host=ctl.address, port=8080, broker=redis.url, extra=HA_SETTINGS,
                              places={"api-server": ctl.run, "scheduler": ctl.run, "dag-processor": ctl.run,
                                      "worker1": w1.run, "worker2": w2.run})
            af.home.mkdir()
            af.start()
            af.ready(DAG)

            # --- day 1: a worker's host cut off mid-stage ---
            holder = open_database()
            holder.execute("LOCK TABLE extract.IPA IN SHARE MODE")  # every IPA_00 insert waits behind it
            status, body = af.trigger(DAG, {"fecha": DAY1.isoformat()})
            assert status == 200, body
            run1 = body["dag_run_id"]

            def both_workers_busy():
                running = [ti for ti in _task_instances(af, run1) if ti["task_id"] == IPA and ti["state"] == "running"]
                if sorted(ti["hostname"] for ti in running) != ["worker1", "worker1", "worker2", "worker2"]:
                    return None
                with database(autocommit=True) as conn:
                    started = count(conn, "SELECT COUNT(*) FROM logs.vw_Ejecucion_Etapas WHERE Etapa = 'IPA' "
                                          "AND Estado = 'EN_PROGRESO'")
                return running if started >= 4 else None

            running = af.wait_for("IPA tasks running on both hosts' workers", both_workers_busy, 240, interval=0.5)
            lost = sorted(ti["map_index"] for ti in running if ti["hostname"] == "worker2")
            with database(autocommit=True) as conn:  # the cut-off host's sessions, seen from the database
                w2_sessions = count(conn, "SELECT COUNT(*) FROM pg_stat_activity WHERE client_addr = %s", (w2.address,))
            assert w2_sessions >= 2, "w2's IPA stages hold sessions on the fund database"
            net.cut("w2")
            cut_at = time.monotonic()
            holder.rollback()
            holder.close()
            assert af.wait_run(DAG, run1, 600) == "success"
            print(f"\nhosts: w2 cut off with {len(lost)} IPA task(s) (map indexes {lost}); the day ended OK "
                  f"{time.monotonic() - cut_at:.1f} s later")
            assert af.procs["worker2"].poll() is None, "w2 was cut off, not killed: its worker still runs"
            with database(autocommit=True) as conn:
                assert count(conn, "SELECT COUNT(*) FROM pg_stat_activity WHERE client_addr = %s",
                             (w2.address,)) == 0, "the database let go of the cut-off host's sessions (keepalives)"
            for map_index in lost:
                tries = sorted(_tries(af, run1, IPA, map_index), key=lambda t: t["try_number"])
                assert tries[0]["hostname"] == "worker2" and tries[0]["state"] != "success", tries
                assert (tries[-1]["hostname"], tries[-1]["state"]) == ("worker1", "success"), tries
            _check_day(DAY1)
            lost_funds = {int(ti["rendered_map_index"].split()[0]) for ti in _task_instances(af, run1)
                          if ti["task_id"] == IPA and ti["map_index"] in lost}
            with database(autocommit=True) as conn:
                retried = conn.execute("SELECT ID_Fund, Etapa, Estado, Intentos FROM logs.vw_Ejecucion_Etapas "
                                       "WHERE Intentos > 1")
            # exactly the cut-off host's stages ran again, and ended OK
            assert {(r["id_fund"], r["etapa"]) for r in retried} == {(f, "IPA") for f in lost_funds}, retried
            assert all(r["estado"] == "OK" for r in retried), retried

            # --- day 2: a second scheduler on a host of its own; the first one's host dies mid-run ---
            af.add("scheduler2", ["scheduler"], place=ctl2.run, env={"FONDOS_WORKER_HOSTNAME": "scheduler2"})
            af.add("worker3", ["celery", "worker", "--celery-hostname", "worker3@%h", "--skip-serve-logs"],
                   place=w1.run, env={"FONDOS_WORKER_HOSTNAME": "worker3"})  # w1 gets w2's share of the work

            def schedulers():
                """The hostnames of the scheduler jobs heartbeating now (Airflow's `job` table)."""
                import psycopg

                with psycopg.connect(db_server.url("airflow")) as conn:
                    rows = conn.execute("SELECT hostname FROM job WHERE job_type = 'SchedulerJob' AND state = 'running' "
                                        "AND latest_heartbeat > now() - interval '10 seconds'").fetchall()
                return sorted(r[0] for r in rows)

            af.wait_for("the second scheduler to heartbeat", lambda: "scheduler2" in schedulers(), 120)
            assert len(schedulers()) == 2, schedulers()

            status, body = af.trigger(DAG, {"fecha": DAY2.isoformat()})
            assert status == 200, body
            run2 = body["dag_run_id"]

            def some_funds_under_way():
                tis = [ti for ti in _task_instances(af, run2) if ti["map_index"] >= 0]
                done = [ti for ti in tis if ti["state"] == "success"]
                return tis if done and len(done) < len(tis) else None

            af.wait_for("day 2 under way", some_funds_under_way, 300, interval=0.5)
            af.kill("scheduler")  # SIGKILL with all it started: the host is gone
            killed_at = datetime.now().astimezone()
            assert af.wait_run(DAG, run2, 600) == "success"
            # the first one's last heartbeat ages past 10 s; the second one's keeps coming
            af.wait_for("the first scheduler to count as dead", lambda: schedulers() == ["scheduler2"], 60)
            queued_after = [ti for ti in _task_instances(af, run2) if ti.get("queued_when")
                            and datetime.fromisoformat(ti["queued_when"]) > killed_at]
            print(f"hosts: the first scheduler killed; the second queued {len(queued_after)} task(s) after that "
                  "and finished the day")
            assert queued_after, "only the second scheduler can have queued a task after the first was killed"
            _check_day(DAY2)
        except Exception:
            if af is not None:
                print(af.logs())
            raise
        finally:
            if af is not None:
                af.stop()
                leftovers = alive(af)
            if redis is not None:
                redis.stop()
            if db_server is not None:
                db_server.stop()
            leftovers += [f"{pid}: still on a host" for pid in net.pids()]
    assert leftovers == [], "Airflow, Celery, task, database or Redis processes outlived stop()"
