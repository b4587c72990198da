"""`fondos` (.venv/bin/fondos, or python -m fondos): the operator's command line.

    fondos db start|stop|url        the embedded PostgreSQL
    fondos db migrate [--target N] [--backup-dir DIR | --backup FILE | --sin-backup REASON]
                                    apply migrations and changed repeatable objects
    fondos db status                applied, pending and edited files
    fondos demo seed --fecha D --fondos N [--posiciones M]
    fondos fondos lista                            every fund and the architecture processing it
    fondos fondos arquitectura v3|v2 ID [ID ...]   move funds between procesos_diarios and the legacy writer
    fondos proceso estado (--id N | --fecha D)     figures and per-fund stages
    fondos proceso cerrar --id N                   close a proceso whose run died
    fondos proceso revertir --ejecucion N          roll back one fund
    fondos proceso eliminar --id N                 delete a proceso and its rows
    fondos comparar --fecha D [--proceso N] [--legado N] [--csv PATH] [--tolerancia X]
                                    the parallel run: the new proceso's figures against the
                                    legacy v2 run of the same date; exit 0 when they agree,
                                    3 when differences were found (listed in the CSV)

Without `AIRFLOW_CONN_FONDOS_DB`, commands use (and start) the embedded server.
Errors print one message saying what went wrong and what to do, and exit 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from fondos.db import embedded
from fondos.settings import CONN_ID, DAG_ID


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


def _cmd_db_status(args) -> int:
    from fondos.db.backup import last_record
    from fondos.db.connection import database
    from fondos.db.migrate import status

    embedded.ensure_connection()
    with database() as db:
        st = status(db)
        backup = last_record(db)
    print(f"dialect: {db.dialect}   schema version: {st.current_version:03d}")
    if backup:
        print(f"last backup record: {backup['fecha']:%Y-%m-%d %H:%M} {backup['tipo']} by {backup['usuario']} "
              f"before {backup['migraciones']}: {backup['ruta'] or backup['motivo']} ({backup['verificacion']})")
    for label, names in (
        ("applied", st.applied),
        ("pending", st.pending),
        ("redeploy (changed)", st.changed_repeatables),
        ("EDITED AFTER APPLY", st.changed_migrations),
    ):
        print(f"{label}: {len(names)}")
        if label != "applied":
            for n in names:
                print(f"  {n}")
    return 2 if st.changed_migrations else 0


def _backup_arguments(parser) -> None:
    how = parser.add_mutually_exclusive_group()
    how.add_argument("--backup-dir", metavar="DIR",
                     help="before a risky migration (012-015) on a database with rows: take a backup in DIR "
                          "and verify it (SQL Server: a directory on the database server)")
    how.add_argument("--backup", metavar="FILE", help="before a risky migration: a backup already taken")
    how.add_argument("--sin-backup", metavar="REASON", help="before a risky migration: go on without a backup")


def _backup_plan(args):
    from fondos.db.backup import BackupPlan

    if args.backup_dir:
        return BackupPlan.take(args.backup_dir)
    if args.backup:
        return BackupPlan.existing(args.backup)
    if args.sin_backup is not None:
        return BackupPlan.none(args.sin_backup)
    return None


def _cmd_db_migrate(args) -> int:
    from fondos.db.connection import database
    from fondos.db.migrate import migrate, status

    embedded.ensure_connection()
    with database() as db:
        done = migrate(db, target=args.target, backup=_backup_plan(args),
                       on_backup=lambda record: print(record.describe()))
        st = status(db)
    for name in done:
        print(f"applied {name}")
    print(f"{db.dialect}: schema version {st.current_version:03d}, {len(done)} file(s) applied, "
          f"{len(st.pending)} pending")
    return 0


def _cmd_check_secrets(args) -> int:
    from fondos.secrets_check import problems

    found = problems()
    for line in found:
        print(f"fondos: {line}", file=sys.stderr)
    if found:
        print("fondos: refusing to start: fix .env (see .env.example), then `make up` again", file=sys.stderr)
        return 1
    print("secrets: set, not placeholders, a valid Fernet key")
    return 0


def _cmd_db_bootstrap_mssql(args) -> int:
    from fondos.db.mssql_bootstrap import bootstrap

    password = os.environ.get(args.password_env)
    if not password:
        raise SystemExit(f"fondos: error: set the pipeline login's password in ${args.password_env}")
    others = [(lg, os.environ[env], role) for lg, env, role in (
        (args.api_login, args.api_password_env, "fondos_lector"),
        (args.operator_login, args.operator_password_env, "fondos_operador")) if os.environ.get(env)]
    applied = bootstrap(args.admin_conn, args.owner_conn, args.database, args.login, password, others,
                        backup=_backup_plan(args), on_backup=lambda record: print(record.describe()))
    roles = "".join(f", login {lg} in role {role}" for lg, _, role in others)
    print(f"database {args.database}: READ_COMMITTED_SNAPSHOT on, {len(applied)} file(s) applied, "
          f"login {args.login} in role fondos_pipeline{roles}")
    return 0


def _fecha(value: str):
    from fondos.errors import InvalidInput
    from fondos.pipeline.fechas import parse_fecha

    try:
        return parse_fecha(value)
    except InvalidInput as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cmd_demo_seed(args) -> int:
    from fondos.db.connection import database
    from fondos.pipeline.demo import seed

    embedded.ensure_connection()
    with database() as db:
        counts = seed(db, args.fecha, args.fondos, args.posiciones)
    print(f"demo data for {args.fecha}: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    return 0


def _proceso_id(db, args) -> int:
    if args.id:
        return args.id
    rows = db.execute("SELECT MAX(ID_Proceso) AS id FROM logs.vw_Procesos WHERE FechaReporte = %s", (args.fecha,))
    if not rows or rows[0]["id"] is None:
        raise SystemExit(f"fondos: error: no proceso for {args.fecha}")
    return int(rows[0]["id"])


def _cmd_proceso_estado(args) -> int:
    from fondos.db.connection import database
    from fondos.pipeline import disparadores, firma
    from fondos.pipeline.metas import veredicto
    from fondos.pipeline.metrics import leer_metricas
    from fondos.pipeline.proceso import resumen_fondos
    from fondos.pipeline.report import format_proceso
    from fondos.settings import APROBADORES

    embedded.ensure_connection()
    with database(autocommit=True) as db:
        pid = _proceso_id(db, args)
        rows = db.execute("SELECT * FROM logs.vw_Procesos WHERE ID_Proceso = %s", (pid,))
        if not rows:
            raise SystemExit(f"fondos: error: unknown proceso {pid}")
        p = dict(rows[0], fondos=resumen_fondos(db, pid))
        if not p.get("legado"):
            p["metricas"] = veredicto(leer_metricas(db, pid))
            p["alertas"] = disparadores.leer(db, pid)
            p["firma"] = firma.estado_firma(db, pid, APROBADORES)
    print(format_proceso(p))
    return 0 if p["estado"] == "OK" else 1


def _cmd_proceso_cerrar(args) -> int:
    from fondos.pipeline.proceso import cerrar_proceso
    from fondos.pipeline.report import format_proceso

    embedded.ensure_connection()
    proceso = cerrar_proceso(args.id)
    print(format_proceso(proceso))
    return 0 if proceso["estado"] == "OK" else 1  # closed as ERROR is a failure for a script


def _cmd_proceso_aceptar(args) -> int:
    from fondos.errors import InvalidInput
    from fondos.pipeline import firma
    from fondos.settings import usuario_local

    embedded.ensure_connection()
    usuario = usuario_local()
    try:
        r = firma.aceptar(args.ejecucion, usuario, args.motivo)
    except InvalidInput as exc:
        raise SystemExit(f"fondos: error: {exc}") from None
    what = "accepted" if r["nueva"] else "already accepted (nothing changed)"
    print(f"ID_Ejecucion {args.ejecucion}: held fund {what} by {usuario}: {args.motivo}\n"
          "The next approval publishes it: clear the run's firmar_dia task (or wait for the pending one) to sign off.")
    return 0


def _cmd_proceso_revertir(args) -> int:
    from fondos.pipeline.proceso import revertir_ejecucion

    embedded.ensure_connection()
    print(f"ejecución {args.ejecucion}: {revertir_ejecucion(args.ejecucion)} rows deleted, stages back to PENDIENTE")
    return 0


def _cmd_fondos_lista(args) -> int:
    from fondos.pipeline.arquitectura import listar

    embedded.ensure_connection()
    rows = listar()
    counts = {a: sum(1 for r in rows if r["activo"] and r["arquitectura"] == a) for a in ("v3", "v2")}
    print(f"{len(rows)} fund(s): {counts['v3']} active on v3 (procesos_diarios), "
          f"{counts['v2']} active on v2 (the legacy writer)")
    for r in rows:
        since = f"{r['arquitecturadesde']:%Y-%m-%d %H:%M}" if r["arquitecturadesde"] else "-"
        print(f"  {r['id_fund']:>6}  {r['fundshortname']:<30} {r['arquitectura']}  "
              f"{'' if r['activo'] else '(inactive) '}since {since} by {r['arquitecturausuario'] or '-'}")
    return 0


def _cmd_fondos_arquitectura(args) -> int:
    from fondos.pipeline.arquitectura import ARQUITECTURAS, asignar

    embedded.ensure_connection()
    rows = asignar(args.fondos, args.arquitectura)
    moved = [r for r in rows if r["anterior"] != r["actual"]]
    print(f"{len(moved)} fund(s) moved to {args.arquitectura} ({ARQUITECTURAS[args.arquitectura]}), "
          f"{len(rows) - len(moved)} already there")
    for r in rows:
        print(f"  {r['id_fund']:>6}  {r['fundshortname']:<30} {r['anterior']} -> {r['actual']}")
    return 0


def _cmd_proceso_eliminar(args) -> int:
    from fondos.pipeline.proceso import eliminar_proceso

    embedded.ensure_connection()
    print(f"proceso {args.id}: deleted with its ejecuciones and {eliminar_proceso(args.id)} extract/staging rows")
    return 0


def _tolerancia(value: str):
    from decimal import Decimal, InvalidOperation

    try:
        tolerancia = Decimal(value)
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"tolerancia {value!r} is not a number (for example 0.0001)") from None
    if not tolerancia.is_finite() or tolerancia < 0:
        raise argparse.ArgumentTypeError(f"tolerancia {value!r} must be a number >= 0")
    return tolerancia


def _cmd_comparar(args) -> int:
    """Exit 0: everything agrees; 3: differences found (the CSV lists them); 1: an error (one message)."""
    from pathlib import Path

    from fondos.db.connection import database
    from fondos.pipeline.comparar import comparar, escribir_csv, formatear

    embedded.ensure_connection()
    with database(autocommit=True) as db:
        resultado = comparar(db, args.fecha, args.proceso, args.legado, args.tolerancia)
    path = Path(args.csv or f"comparacion_{args.fecha.isoformat()}.csv")
    escribir_csv(resultado, path)
    print(formatear(resultado))
    print(f"\nCSV: {path.resolve()} ({len(resultado.diferencias)} difference(s), one per line)")
    return 0 if resultado.coincide else 3


def _cmd_run(args) -> int:
    """make run: database ready, demo data, the real DAG end to end, then the summary."""
    import time

    from fondos.airflow import local as airflow_env
    from fondos.db.connection import database
    from fondos.db.migrate import migrate
    from fondos.pipeline.progress import follow
    from fondos.settings import PROJECT_ROOT

    started = time.monotonic()
    fund_db = embedded.ensure_connection()
    with database() as db:
        migrate(db)
        if not args.sin_demo:
            from fondos.pipeline.demo import seed

            seed(db, args.fecha, args.fondos, args.posiciones)
            print(f"demo data: {args.fondos} funds x {args.posiciones} positions for {args.fecha}")
    home = PROJECT_ROOT / ".airflow"
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
    code = _cmd_proceso_estado(argparse.Namespace(id=None, fecha=args.fecha))
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

    from fondos.airflow import local as airflow_env
    from fondos.settings import PROJECT_ROOT

    fund_db = embedded.ensure_connection()
    home = PROJECT_ROOT / ".airflow"
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fondos", description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="group", required=True)

    db = sub.add_parser("db", help="the fund database").add_subparsers(dest="command", required=True)
    db.add_parser("start", help="start the embedded PostgreSQL").set_defaults(func=_cmd_db_start)
    db.add_parser("stop", help="stop the embedded PostgreSQL").set_defaults(func=_cmd_db_stop)
    db.add_parser("url", help="print the embedded server's libpq URL").set_defaults(func=_cmd_db_url)
    db.add_parser("status", help="applied and pending files").set_defaults(func=_cmd_db_status)
    mig = db.add_parser("migrate", help="apply migrations and repeatable objects")
    mig.add_argument("--target", type=int, help="stop after this migration number")
    _backup_arguments(mig)
    mig.set_defaults(func=_cmd_db_migrate)
    boot = db.add_parser("bootstrap-mssql", help="SQL Server: database with RCSI, migrations, pipeline login")
    boot.add_argument("--admin-conn", default="fondos_admin", help="connection id of a server administrator (master)")
    boot.add_argument("--owner-conn", default="fondos_owner", help="connection id of the fund database's owner")
    boot.add_argument("--database", default="Fondos")
    boot.add_argument("--login", default="fondos_airflow")
    boot.add_argument("--password-env", default="FONDOS_PIPELINE_PASSWORD",
                      help="environment variable holding the pipeline login's password")
    boot.add_argument("--api-login", default="fondos_api", help="the proceso API's login (role fondos_lector)")
    boot.add_argument("--api-password-env", default="FONDOS_API_PASSWORD",
                      help="its password's environment variable (unset: no API login)")
    boot.add_argument("--operator-login", default="fondos_operator", help="the operator's login (role fondos_operador)")
    boot.add_argument("--operator-password-env", default="FONDOS_OPERATOR_PASSWORD",
                      help="its password's environment variable (unset: no operator login)")
    _backup_arguments(boot)
    boot.set_defaults(func=_cmd_db_bootstrap_mssql)

    chk = sub.add_parser("check-secrets", help="compose: refuse placeholder or missing secrets and Fernet key")
    chk.set_defaults(func=_cmd_check_secrets)

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

    fon = sub.add_parser("fondos", help="the funds and which architecture processes each").add_subparsers(
        dest="command", required=True)
    fon.add_parser("lista", help="every fund with its architecture (v3 procesos_diarios, v2 legacy writer)") \
        .set_defaults(func=_cmd_fondos_lista)
    arq = fon.add_parser("arquitectura", help="move funds to v3 (procesos_diarios) or back to v2 (the legacy "
                                              "writer); refused while a listed fund's day runs")
    arq.add_argument("arquitectura", choices=("v3", "v2"))
    arq.add_argument("fondos", type=int, nargs="+", metavar="ID_FUND")
    arq.set_defaults(func=_cmd_fondos_arquitectura)

    pro = sub.add_parser("proceso", help="inspect and repair procesos").add_subparsers(dest="command", required=True)
    est = pro.add_parser("estado", help="a proceso's figures and every fund's stages")
    which = est.add_mutually_exclusive_group(required=True)
    which.add_argument("--id", type=int, help="ID_Proceso")
    which.add_argument("--fecha", type=_fecha, help="the latest proceso of this report date")
    est.set_defaults(func=_cmd_proceso_estado)
    cer = pro.add_parser("cerrar", help="close a proceso: unfinished stages of healthy funds become ERROR")
    cer.add_argument("--id", type=int, required=True)
    cer.set_defaults(func=_cmd_proceso_cerrar)
    ace = pro.add_parser("aceptar", help="accept a held fund (a plausibility check above its threshold) with a "
                                         "reason, so the next approval publishes it")
    ace.add_argument("--ejecucion", type=int, required=True, help="ID_Ejecucion of the held fund")
    ace.add_argument("--motivo", required=True, help="why its figures are right (recorded with who and when)")
    ace.set_defaults(func=_cmd_proceso_aceptar)
    rev = pro.add_parser("revertir", help="roll back one fund (its rows everywhere, its stages to PENDIENTE)")
    rev.add_argument("--ejecucion", type=int, required=True, help="ID_Ejecucion")
    rev.set_defaults(func=_cmd_proceso_revertir)
    eli = pro.add_parser("eliminar", help="delete a proceso with all its ejecuciones and rows")
    eli.add_argument("--id", type=int, required=True)
    eli.set_defaults(func=_cmd_proceso_eliminar)

    com = sub.add_parser("comparar", help="the parallel run: the new proceso of a date against the legacy v2 run "
                                          "(exit 0 agree, 3 differences, 1 error)")
    com.add_argument("--fecha", type=_fecha, required=True, help="report date, YYYY-MM-DD")
    com.add_argument("--proceso", type=int, help="ID_Proceso of the new side (default: the date's latest)")
    com.add_argument("--legado", type=int, help="ID_Ejecucion of the legacy run (default: the date's latest OK one, "
                                                "else its latest)")
    com.add_argument("--csv", help="where to write the differences (default comparacion_<fecha>.csv here)")
    com.add_argument("--tolerancia", type=_tolerancia, default="0.0001",
                     help="largest difference of two numbers still equal (default 0.0001)")
    com.set_defaults(func=_cmd_comparar)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # Airflow's logging setup turns INFO on globally; an operator wants results, not every step.
    logging.getLogger("fondos").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        return args.func(args)
    except Exception as exc:  # one readable line for the operator, the traceback with -v
        if args.verbose:
            raise
        print(f"fondos: error: {exc}", file=sys.stderr)
        return 1
