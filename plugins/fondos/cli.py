"""`fondos` (the package's console script, or python -m fondos): the operator's command line.

    fondos db migrate [--target N] [--backup-dir DIR | --backup FILE | --sin-backup REASON]
                                    apply migrations and changed repeatable objects
    fondos db status                applied, pending and edited files
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

The fund database is the Airflow connection `fondos_db` (AIRFLOW_CONN_FONDOS_DB, or any secrets backend
Airflow reads). In a checkout, `python -m fondos_dev` is this command plus the embedded PostgreSQL, the demo
data, `run` and `airflow` (tools/fondos_dev/cli.py).
Errors print one message saying what went wrong and what to do, and exit 1.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _cmd_db_status(args) -> int:
    from fondos.db.backup import last_record
    from fondos.db.connection import database
    from fondos.db.migrate import status

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

    proceso = cerrar_proceso(args.id)
    print(format_proceso(proceso))
    return 0 if proceso["estado"] == "OK" else 1  # closed as ERROR is a failure for a script


def _cmd_proceso_aceptar(args) -> int:
    from fondos.errors import InvalidInput
    from fondos.pipeline import firma
    from fondos.settings import usuario_local

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

    print(f"ejecución {args.ejecucion}: {revertir_ejecucion(args.ejecucion)} rows deleted, stages back to PENDIENTE")
    return 0


def _cmd_fondos_lista(args) -> int:
    from fondos.pipeline.arquitectura import listar

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

    rows = asignar(args.fondos, args.arquitectura)
    moved = [r for r in rows if r["anterior"] != r["actual"]]
    print(f"{len(moved)} fund(s) moved to {args.arquitectura} ({ARQUITECTURAS[args.arquitectura]}), "
          f"{len(rows) - len(moved)} already there")
    for r in rows:
        print(f"  {r['id_fund']:>6}  {r['fundshortname']:<30} {r['anterior']} -> {r['actual']}")
    return 0


def _cmd_proceso_eliminar(args) -> int:
    from fondos.pipeline.proceso import eliminar_proceso

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

    with database(autocommit=True) as db:
        resultado = comparar(db, args.fecha, args.proceso, args.legado, args.tolerancia)
    path = Path(args.csv or f"comparacion_{args.fecha.isoformat()}.csv")
    escribir_csv(resultado, path)
    print(formatear(resultado))
    print(f"\nCSV: {path.resolve()} ({len(resultado.diferencias)} difference(s), one per line)")
    return 0 if resultado.coincide else 3


def build_parser(extend=None, prog: str = "fondos") -> argparse.ArgumentParser:
    """The command line; `extend(sub, db)`, when given, adds commands to the top level and to `db` (the
    development tools' `python -m fondos_dev` adds the embedded database, the demo, run and airflow)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="group", required=True)

    db = sub.add_parser("db", help="the fund database").add_subparsers(dest="command", required=True)
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
    if extend is not None:
        extend(sub, db)
    return parser


def main(argv: list[str] | None = None, extend=None, prepare=None, prog: str = "fondos") -> int:
    """`prepare(args)`, when given, runs before the command (the development tools point the connection at
    the embedded database there)."""
    args = build_parser(extend, prog).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    # Airflow's logging setup turns INFO on globally; an operator wants results, not every step.
    logging.getLogger("fondos").setLevel(logging.INFO if args.verbose else logging.WARNING)
    try:
        if prepare is not None:
            prepare(args)
        return args.func(args)
    except Exception as exc:  # one readable line for the operator, the traceback with -v
        if args.verbose:
            raise
        print(f"fondos: error: {exc}", file=sys.stderr)
        return 1
