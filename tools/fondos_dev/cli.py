"""`python -m fondos_dev`: the `fondos` command plus what only a checkout uses.

    python -m fondos_dev db start|stop|url       the embedded PostgreSQL
    python -m fondos_dev demo seed --fecha D --fondos N [--posiciones M]
    python -m fondos_dev run --fecha D [--fondos N] [--posiciones M]   make run
    python -m fondos_dev airflow                                      make airflow
    python -m fondos_dev <any fondos command>   on the embedded database unless AIRFLOW_CONN_FONDOS_DB is set

None of this is in the wheel; the runtime (`fondos`) never imports it (tests/test_layers.py).
"""

from __future__ import annotations

import argparse
import json
import os
import sys

from fondos import cli
from fondos.cli import _fecha
from fondos.settings import CONN_ID, DAG_ID
from fondos_dev import ROOT, embedded


def _cmd_db_start(args) -> int:
    conn = embedded.start()
    print(f"embedded PostgreSQL running; data in {embedded.pgdata_dir()}")
    print(f"AIRFLOW_CONN_{CONN_ID.upper()}='{json.dumps(conn)}'")
    return 0


def _cmd_db_stop(args) -> int:
    print("stopped" if embedded.stop() else "not running")
    return 0


def _cmd_db_url(args) -> int:
    print(embedded.uri(embedded.start()))
    return 0


def _cmd_demo_seed(args) -> int:
    from fondos.db.connection import database
    from fondos_dev.demo import seed

    with database() as db:
        counts = seed(db, args.fecha, args.fondos, args.posiciones)
    print(f"demo data for {args.fecha}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _cmd_run(args) -> int:
    """make run: database ready, demo data, the real DAG end to end, then the summary."""
    import time

    from fondos.db.connection import database
    from fondos.db.migrate import migrate
    from fondos.pipeline.progress import follow
    from fondos_dev import local_airflow as airflow_env

    started = time.monotonic()
    fund_db = os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"]
    with database() as db:
        migrate(db)
        if not args.sin_demo:
            from fondos_dev.demo import seed

            seed(db, args.fecha, args.fondos, args.posiciones)
            print(f"demo data: {args.fondos} funds x {args.posiciones} positions for {args.fecha}")
    home = ROOT / ".airflow"
    executor = f"CeleryExecutor with {args.workers} workers" if args.executor == "celery" else "LocalExecutor"
    print(f"starting Airflow (API server, scheduler, DAG processor; {executor}; metadata in "
          f"{_metadata_where()}) in {home}")
    # Two named users: admin triggers the day, aprobador signs it off (four eyes: the requester may not).
    aprobadores = os.environ.get("FONDOS_APROBADORES", DEMO_APROBADOR)
    with airflow_env.LocalAirflow(home, fund_db, parallelism=args.paralelo, executor=args.executor,
                                  workers=args.workers, all_admins=False, users=DEMO_USERS,
                                  extra={"FONDOS_APROBADORES": aprobadores}) as af:
        af.ready(DAG_ID)
        _warn_runs_ahead(af)
        status, body = af.trigger_as(DAG_ID, {"fecha": args.fecha.isoformat()}, "admin")
        if status != 200:
            raise RuntimeError(f"could not trigger procesos_diarios: {status} {body}")
        run_id = body["dag_run_id"]
        print(f"running DAG procesos_diarios for {args.fecha}: run {run_id}, triggered by admin (task logs in "
              f"{home}/logs)")
        dag_started = time.monotonic()
        state = follow(af, DAG_ID, run_id, timeout=args.timeout,
                       on_tick=_demo_sign_off(af, run_id) if DEMO_APROBADOR in aprobadores.split(",") else None)
        dag_seconds = time.monotonic() - dag_started
    code = cli._cmd_proceso_estado(argparse.Namespace(id=None, fecha=args.fecha))
    print(f"\nDAG run {state} in {dag_seconds:.1f} s; total {time.monotonic() - started:.1f} s")
    return code or (0 if state == "success" else 1)


def _warn_runs_ahead(af) -> None:
    """procesos_diarios runs one day at a time (max_active_runs=1): say so when an earlier run, left running or
    queued in .airflow's metadata (a make run interrupted, say), would keep this one waiting."""
    status, body = af.api("GET", f"/dags/{DAG_ID}/dagRuns?state=running&state=queued&limit=20")
    ahead = [r["dag_run_id"] for r in body.get("dag_runs", [])] if status == 200 else []
    if ahead:
        print(f"warning: {len(ahead)} earlier run(s) of {DAG_ID} still running or queued ({', '.join(ahead)}): this "
              "run waits behind them (one day at a time). Mark them failed in the UI (make airflow) or start "
              "afresh with make clean", flush=True)


DEMO_APROBADOR = "aprobador"
DEMO_USERS = {"admin": "admin", DEMO_APROBADOR: "user"}


def _demo_sign_off(af, run_id: str):
    """make run's second user: once firmar_dia waits for an answer, approve the day through the REST API as
    `aprobador` (admin triggered it and may not), and say so."""
    import time

    done, seen = [], []

    def tick() -> None:
        if done or af.task_state(DAG_ID, run_id, "firmar_dia") != "awaiting_input":
            return
        if not seen:  # answer 12 s after it parks, as a person would (LocalAirflow.await_input says why)
            seen.append(time.monotonic())
        if time.monotonic() - seen[0] < 12:
            return
        status, body = af.responder(DAG_ID, run_id, "firmar_dia", "Approve", user=DEMO_APROBADOR,
                                    params={"comentario": "make run: the demo's second user approves"})
        if status != 200:
            raise RuntimeError(f"the demo's approval was refused: {status} {body}")
        done.append(body)
        print(f"firmar_dia: approved through the REST API by {body['responded_by']['name']} "
              "(the day was triggered by admin, who may not approve it)", flush=True)

    return tick


def _metadata_where() -> str:
    chosen = os.environ.get("FONDOS_AIRFLOW_DB", "").strip()
    if chosen.lower() == "sqlite":
        return "SQLite"
    return "FONDOS_AIRFLOW_DB" if chosen else "the embedded PostgreSQL (database airflow)"


def _cmd_airflow(args) -> int:
    """make airflow: API server + UI on :8080, scheduler, DAG processor, triggerer (and Celery workers)."""
    import signal
    import time

    from fondos_dev import local_airflow as airflow_env

    fund_db = os.environ[f"AIRFLOW_CONN_{CONN_ID.upper()}"]
    home = ROOT / ".airflow"
    # Locally the schedule is off unless asked for: the latest scheduled date has no demo data.
    af = airflow_env.LocalAirflow(home, fund_db, parallelism=args.paralelo, executor=args.executor,
                                  workers=args.workers, port=args.port, all_admins=False, triggerer=True,
                                  users=DEMO_USERS,
                                  extra={"FONDOS_SCHEDULE": os.environ.get("FONDOS_SCHEDULE", "none"),
                                         "FONDOS_APROBADORES": os.environ.get("FONDOS_APROBADORES", DEMO_APROBADOR)})
    def interrupt(*_):
        raise KeyboardInterrupt

    for sig in (signal.SIGINT, signal.SIGTERM):  # SIGINT too: a shell starts background jobs ignoring it
        signal.signal(sig, interrupt)  # like Ctrl-C: stop every component, then exit
    home.mkdir(parents=True, exist_ok=True)
    try:
        af.start()
        af.ready(DAG_ID)
        print(f"Airflow at http://localhost:{args.port} (users admin and {DEMO_APROBADOR}, who signs days off; "
              "their passwords are in "
              f"{home}/simple_auth_manager_passwords.json.generated); metadata in {_metadata_where()}; "
              f"{', '.join(af.procs)} running, output in {home}/*.out. Ctrl-C stops them all.", flush=True)
        af.supervised = True  # a component that exits (its database restarted, say) is started again
        while True:
            time.sleep(2)
            for name in af.supervise():
                print(f"fondos: airflow {name} exited (code {af.restarts[-1][1]}) and was started again; "
                      f"see {home}/{name}.out", file=sys.stderr, flush=True)
    except KeyboardInterrupt:
        print("stopping Airflow", flush=True)
        return 0
    finally:
        af.stop()


def _executor_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--executor", choices=("local", "celery"), default=os.environ.get("EXECUTOR") or "local",
                        help="LocalExecutor (default) or CeleryExecutor with a project-run Redis")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WORKERS") or 2),
                        help="Celery workers (with --executor celery)")


# fondos commands that read or write the fund database: on the embedded server unless a connection is set
_ON_THE_DATABASE = {"db": {"status", "migrate"}, "proceso": None, "fondos": None, "comparar": None, "demo": None,
                    "run": None, "airflow": None}


def _prepare(args) -> None:
    import logging

    logging.getLogger("fondos_dev").setLevel(logging.getLogger("fondos").level)  # as quiet as the fondos command
    commands = _ON_THE_DATABASE.get(args.group, set())
    if commands is None or getattr(args, "command", None) in commands:
        embedded.ensure_connection()


def _extend(sub, db) -> None:
    db.add_parser("start", help="start the embedded PostgreSQL").set_defaults(func=_cmd_db_start)
    db.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=_cmd_db_stop)
    db.add_parser("url", help="print the embedded server's libpq URL").set_defaults(func=_cmd_db_url)
    run = sub.add_parser("run", help="migrate, seed demo data and run the DAG end to end for one date")
    run.add_argument("--fecha", type=_fecha, required=True)
    run.add_argument("--fondos", type=int, default=50)
    run.add_argument("--posiciones", type=int, default=200)
    run.add_argument("--sin-demo", action="store_true", help="use the source data already in the database")
    run.add_argument("--paralelo", type=int, default=16, help="Airflow parallelism (task processes at once)")
    run.add_argument("--timeout", type=int, default=1800, help="seconds to wait for the DAG run")
    _executor_args(run)
    run.set_defaults(func=_cmd_run)
    air = sub.add_parser("airflow", help="Airflow's components on this project, UI on :8080, until Ctrl-C")
    air.add_argument("--port", type=int, default=8080)
    air.add_argument("--paralelo", type=int, default=16, help="Airflow parallelism (task processes at once)")
    _executor_args(air)
    air.set_defaults(func=_cmd_airflow)
    demo = sub.add_parser("demo", help="demo data").add_subparsers(dest="command", required=True)
    seed = demo.add_parser("seed", help="fill config.Fondos and the source feeds for a date")
    seed.add_argument("--fecha", type=_fecha, required=True, help="report date, YYYY-MM-DD")
    seed.add_argument("--fondos", type=int, default=50, help="number of funds (default 50)")
    seed.add_argument("--posiciones", type=int, default=200, help="positions per fund (default 200)")
    seed.set_defaults(func=_cmd_demo_seed)


def main(argv: list[str] | None = None) -> int:
    return cli.main(argv, extend=_extend, prepare=_prepare, prog="python -m fondos_dev")
