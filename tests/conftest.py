"""Shared fixtures: a real embedded PostgreSQL for the whole session, a fresh
database per test, and the same tests against SQL Server when one is reachable
(`FONDOS_TEST_MSSQL_URL`, an Airflow connection, URI or JSON, of type mssql or
odbc whose login may create databases).
"""

from __future__ import annotations

import email
import json
import os
import socket
import tempfile
import uuid
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]

# Airflow reads its configuration at import time: give the tests their own home.
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="fondos-test-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(_AIRFLOW_HOME))
if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker inherits the controller's home: each needs its own SQLite
    os.environ["AIRFLOW_HOME"] = str(_AIRFLOW_HOME)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
# the fondos plugin comes from the installed distribution's entry point (make setup), as in a deployment
os.environ.setdefault("FONDOS_PGDATA", str(ROOT / ".pgdata-test"))
# `make test` runs two pytest-xdist workers: each starts its own embedded server in a data directory of its own.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["FONDOS_PGDATA"] += "-" + os.environ["PYTEST_XDIST_WORKER"]
# The metrics snapshot waits 0.6 s for other backends to flush their statistics (fondos.pipeline.metrics): it
# matters only to a test that counts deadlocks, and each of those sets it back (STATS_WAIT below). Every other
# proceso of the suite would spend 1.2 s on it for nothing.
os.environ.setdefault("FONDOS_METRICS_STATS_WAIT_S", "0")
# No deadline alert in dag.test() runs: Airflow 3.3.2's dag.test() fails when a run of a DAG with a DeadlineAlert
# succeeds (DagRun.update_state looks the SDK alerts up as database ids). The deadline's tests set their own.
os.environ.setdefault("FONDOS_PLAZO", "none")
STATS_WAIT = "0.6"

MSSQL_URL = os.environ.get("FONDOS_TEST_MSSQL_URL")
CONN_ENV = "AIRFLOW_CONN_FONDOS_DB"


def pytest_collection_modifyitems(config, items):
    """Under `make test` (pytest-xdist, three workers, --dist loadgroup) the tests that start Airflow's components
    or install the wheel each carry an xdist group in their module's `pytestmark` (airflow-a, airflow-b,
    install): at most two Airflow stacks at once, the rest spread around them. The group must be in the module
    itself: pytest-xdist reads it before a conftest hook could add it (a marker added here was silently
    ignored). A test of that kind without its group is refused at collection."""
    for item in items:
        heavy = any(item.get_closest_marker(m) for m in ("e2e", "celery", "browser", "install"))
        if heavy and not item.get_closest_marker("hosts") and not item.get_closest_marker("xdist_group"):
            raise pytest.UsageError(f"{item.nodeid} starts Airflow or installs the wheel: give its module an "
                                    "xdist_group in pytestmark (tests/conftest.py says why)")


@pytest.fixture(scope="session")
def pg_server() -> dict:
    """The embedded server (started once, stopped at the end of the session)."""
    from fondos_dev import embedded

    return embedded.start(Path(os.environ["FONDOS_PGDATA"]), keep_running=False)


class Backend:
    """Creates and drops throw-away databases on one server."""

    def __init__(self, name: str, admin_conn: dict | str):
        self.name = name
        self.admin_conn = admin_conn

    def _admin_env(self) -> str:
        return json.dumps(self.admin_conn) if isinstance(self.admin_conn, dict) else self.admin_conn

    def create(self, template: str | None = None) -> tuple[str, str]:
        """Create an empty database (PostgreSQL: or a copy of `template`); return (its name, the connection
        env value for it)."""
        from airflow.sdk import Connection

        dbname = f"t_{uuid.uuid4().hex[:12]}"
        admin = self._admin_raw()
        try:
            cur = admin.cursor()
            # generated names: DDL takes no parameters
            cur.execute(f"CREATE DATABASE {dbname}" + (f" TEMPLATE {template}" if template else ""))
            if self.name == "mssql":
                cur.execute(f"ALTER DATABASE {dbname} SET READ_COMMITTED_SNAPSHOT ON")
        finally:
            admin.close()
        if isinstance(self.admin_conn, dict):
            conn = dict(self.admin_conn, schema=dbname)
            return dbname, json.dumps(conn)
        if self.admin_conn.lstrip().startswith("{"):  # JSON (make test-mssql: passwords stay literal)
            return dbname, json.dumps(dict(json.loads(self.admin_conn), schema=dbname))
        c = Connection.from_uri(self.admin_conn, conn_id="fondos_db")
        return dbname, json.dumps(
            {"conn_type": c.conn_type, "host": c.host, "login": c.login, "password": c.password,
             "port": c.port, "schema": dbname, "extra": c.extra}
        )

    def drop(self, dbname: str) -> None:
        admin = self._admin_raw()
        try:
            cur = admin.cursor()
            if self.name == "postgres":
                cur.execute(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
            else:
                cur.execute(f"ALTER DATABASE {dbname} SET SINGLE_USER WITH ROLLBACK IMMEDIATE")
                cur.execute(f"DROP DATABASE {dbname}")
        finally:
            admin.close()

    def _admin_raw(self):
        from fondos.db.connection import open_database

        previous = os.environ.get(CONN_ENV)
        os.environ[CONN_ENV] = self._admin_env()
        try:
            db = open_database()
        finally:
            if previous is None:
                os.environ.pop(CONN_ENV, None)
            else:
                os.environ[CONN_ENV] = previous
        if db.driver == "psycopg":
            db.conn.autocommit = True
        elif db.driver == "pymssql":
            db.conn.autocommit(True)
        else:
            db.conn.autocommit = True
        return db.conn


def _backend_params():
    yield pytest.param("postgres", id="postgres")
    yield pytest.param(
        "mssql",
        id="mssql",
        marks=pytest.mark.skipif(
            not MSSQL_URL, reason="no SQL Server reachable: set FONDOS_TEST_MSSQL_URL (make test-mssql)"
        ),
    )


@pytest.fixture(scope="session", params=list(_backend_params()))
def backend(request) -> Backend:
    if request.param == "postgres":
        return Backend("postgres", request.getfixturevalue("pg_server"))
    return Backend("mssql", MSSQL_URL)


@pytest.fixture(scope="session")
def pg_backend(pg_server) -> Backend:
    """PostgreSQL only: for tests of PostgreSQL-specific behaviour."""
    return Backend("postgres", pg_server)


def _fresh_database(backend: Backend, monkeypatch):
    dbname, env_value = backend.create()
    monkeypatch.setenv(CONN_ENV, env_value)
    yield dbname
    backend.drop(dbname)


@pytest.fixture
def fresh_db(backend, monkeypatch):
    """An empty database on the current backend; `fondos_db` points at it."""
    yield from _fresh_database(backend, monkeypatch)


@pytest.fixture
def fresh_pg_db(pg_backend, monkeypatch):
    """An empty PostgreSQL database, for PostgreSQL-only tests."""
    yield from _fresh_database(pg_backend, monkeypatch)


@pytest.fixture(scope="session")
def pg_migrated_template(pg_backend):
    """A PostgreSQL fund database migrated once per session: tests that need a migrated database get a copy
    of it (CREATE DATABASE ... TEMPLATE, a file copy), not the migrations run again. The migration runner
    itself is tested on empty databases (tests/test_migrate.py, the legacy and backfill tests)."""
    from fondos.db.connection import open_database
    from fondos.db.migrate import migrate

    name, env_value = pg_backend.create()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(CONN_ENV, env_value)
        database = open_database()
        try:
            migrate(database)
            database.commit()
        finally:
            database.close()  # a template may have no session open when it is copied
    yield name
    pg_backend.drop(name)


def _migrated_database(backend: Backend, monkeypatch, request):
    """(name) of a migrated database on `backend`, `fondos_db` pointing at it: a copy of the session's
    migrated template on PostgreSQL, migrations run on SQL Server."""
    from fondos.db.connection import open_database
    from fondos.db.migrate import migrate

    if backend.name == "postgres":
        dbname, env_value = backend.create(template=request.getfixturevalue("pg_migrated_template"))
        monkeypatch.setenv(CONN_ENV, env_value)
    else:
        dbname, env_value = backend.create()
        monkeypatch.setenv(CONN_ENV, env_value)
        database = open_database()
        try:
            migrate(database)
        finally:
            database.close()
    return dbname


@pytest.fixture
def migrated_pg_db(pg_backend, monkeypatch, request):
    """A migrated PostgreSQL database of the test's own; `fondos_db` points at it."""
    dbname = _migrated_database(pg_backend, monkeypatch, request)
    yield dbname
    pg_backend.drop(dbname)


def _connected(backend: Backend, monkeypatch, request):
    from fondos.db.connection import open_database

    dbname = _migrated_database(backend, monkeypatch, request)
    database = open_database()
    yield database
    database.close()
    backend.drop(dbname)


@pytest.fixture
def db(backend, monkeypatch, request):
    """A connection to a fresh, fully migrated database on the current backend."""
    yield from _connected(backend, monkeypatch, request)


@pytest.fixture
def pg_db(pg_backend, monkeypatch, request):
    """A connection to a fresh, fully migrated PostgreSQL database: for tests whose own SQL is PostgreSQL's."""
    yield from _connected(pg_backend, monkeypatch, request)


@pytest.fixture(scope="session")
def airflow_metadata():
    """Airflow's own metadata database (SQLite in the test AIRFLOW_HOME) and the fund pool."""
    import subprocess
    import sys

    from fondos.settings import POOL, POOL_SLOTS

    airflow = Path(sys.executable).parent / "airflow"
    subprocess.run([str(airflow), "db", "migrate"], check=True, stdout=subprocess.DEVNULL, env=os.environ)
    subprocess.run([str(airflow), "pools", "set", POOL, str(POOL_SLOTS), "fund database"], check=True,
                   stdout=subprocess.DEVNULL, env=os.environ)
    return os.environ["AIRFLOW_HOME"]


@pytest.fixture(scope="session")
def airflow_pg_template(pg_server):
    """A migrated Airflow metadata database on the embedded server, migrated once per session."""
    import subprocess
    import sys

    from fondos_dev import embedded

    conn = embedded.create_database(f"airflow_tpl_{uuid.uuid4().hex[:8]}", server=pg_server)
    env = dict(os.environ, AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=embedded.sqlalchemy_url(conn))
    subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"], check=True,
                   stdout=subprocess.DEVNULL, env=env)
    yield conn["schema"]
    _drop_pg_database(pg_server, conn["schema"])


@pytest.fixture
def airflow_pg_metadata(pg_server, airflow_pg_template):
    """Airflow's metadata for one end-to-end test: a PostgreSQL database copied from the migrated template."""
    from fondos_dev import embedded

    conn = embedded.create_database(f"af_{uuid.uuid4().hex[:12]}", template=airflow_pg_template,
                                    server=pg_server)
    yield embedded.sqlalchemy_url(conn)
    _drop_pg_database(pg_server, conn["schema"])


def _drop_pg_database(server: dict, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=server["host"], user="postgres", dbname="postgres", autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def fund_db(migrated_pg_db, airflow_metadata):
    """A migrated PostgreSQL fund database and Airflow's metadata, for runs through dag.test()."""
    from fondos.db.connection import database

    with database(autocommit=True) as conn:
        yield conn


def fresh_dag(dag_id: str = "procesos_diarios"):
    """A freshly parsed DAG object: params of an earlier dag.test() must not leak into the next."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(str(ROOT / "dags"))
    assert not bag.import_errors, bag.import_errors
    return bag.dags[dag_id]


# --- a real SMTP server for the morning message (aiosmtpd) -------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sink:
    """An SMTP server keeping every message it accepts; `refuse` makes it refuse the next N with 451."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.refuse = 0
        self.refused = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.refuse:
            self.refuse -= 1
            self.refused += 1
            return "451 4.3.0 try again later"
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"

    def text(self, i: int = 0) -> str:
        return self.messages[i].get_body(("html", "plain")).get_content()


@pytest.fixture
def smtp(monkeypatch):
    sink, port = Sink(), _free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps({
        "conn_type": "smtp", "host": "127.0.0.1", "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "from_email": "fondos@example.com",
                  "retry_limit": 0, "timeout": 5}}))
    monkeypatch.setenv("FONDOS_AVISO_PARA", "ops@example.com, risk@example.com")
    monkeypatch.setenv("FONDOS_BOARD_URL", "http://airflow.example.com:8080")
    try:
        yield sink
    finally:
        controller.stop()
