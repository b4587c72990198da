"""`python -m fondos`: the operator's command line.

    fondos db start|stop|url        the embedded PostgreSQL
    fondos db migrate [--target N]  apply migrations and changed repeatable objects
    fondos db status                applied, pending and edited files

Without `AIRFLOW_CONN_FONDOS_DB`, commands use (and start) the embedded server.
Errors print one message saying what went wrong and what to do, and exit 1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys

from fondos import embedded
from fondos.settings import CONN_ID


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
    from fondos.db import database
    from fondos.migrate import status

    embedded.ensure_connection()
    with database() as db:
        st = status(db)
    print(f"dialect: {db.dialect}   schema version: {st.current_version:03d}")
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


def _cmd_db_migrate(args) -> int:
    from fondos.db import database
    from fondos.migrate import migrate, status

    embedded.ensure_connection()
    with database() as db:
        done = migrate(db, target=args.target)
        st = status(db)
    for name in done:
        print(f"applied {name}")
    print(f"{db.dialect}: schema version {st.current_version:03d}, {len(done)} file(s) applied, "
          f"{len(st.pending)} pending")
    return 0


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
    mig.set_defaults(func=_cmd_db_migrate)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    try:
        return args.func(args)
    except Exception as exc:  # one readable line for the operator, the traceback with -v
        if args.verbose:
            raise
        print(f"fondos: error: {exc}", file=sys.stderr)
        return 1
