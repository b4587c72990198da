"""One connection to the fund database, whatever the dialect and driver.

The Airflow connection `fondos_db` (its `conn_type`) picks everything:

=============  ========  ==========  ==========================================
conn_type      dialect   driver      hook
=============  ========  ==========  ==========================================
``postgres``   postgres  psycopg 3   PostgresHook (providers-postgres)
``mssql``      mssql     pymssql     MsSqlHook (providers-microsoft-mssql)
``odbc``       mssql     pyodbc      OdbcHook (providers-odbc), ODBC Driver 18
=============  ========  ==========  ==========================================

Credentials stay inside the connection: nothing here logs or formats them.
SQL in this package is written with ``%s`` placeholders; for pyodbc (qmark
style) they become ``?`` here, so every value is always bound.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fondos.settings import CONN_ID

log = logging.getLogger(__name__)

DIALECT_BY_CONN_TYPE = {"postgres": "postgres", "mssql": "mssql", "odbc": "mssql"}
ODBC_DRIVER = os.environ.get("FONDOS_ODBC_DRIVER", "ODBC Driver 18 for SQL Server")


class ConfigurationError(RuntimeError):
    """The connection is missing or of a type this project cannot use."""


@dataclass
class Database:
    """A DB-API connection plus what the rest of the package needs to know about it."""

    conn: Any
    dialect: str  # "postgres" | "mssql"
    driver: str  # "psycopg" | "pymssql" | "pyodbc"
    # Opens a replacement connection with the same settings (set by open_database), for reconnect().
    opener: Callable[[], Any] | None = field(default=None, repr=False)

    def reconnect(self) -> None:
        """Replace a dead connection with a new one (same connection id, same autocommit mode)."""
        if self.opener is None:
            raise ConfigurationError("this connection cannot be reopened (it was not opened by open_database)")
        try:
            self.conn.close()
        except Exception:  # it is dead already; closing is a courtesy
            log.debug("closing the dead connection failed", exc_info=True)
        self.conn = self.opener()

    @property
    def closed(self) -> bool:
        """True when the driver knows the connection is gone (psycopg only; the others learn on use)."""
        return bool(getattr(self.conn, "closed", False)) or bool(getattr(self.conn, "broken", False))

    def varchar(self) -> str:
        """The placeholder of a str compared with a VARCHAR column.

        SQL Server: pymssql and pyodbc send every str as NVARCHAR, and NVARCHAR outranks VARCHAR, so the
        column side gets CONVERT_IMPLICIT and an index on it is scanned, not sought. Cast the parameter
        instead (8000: never cut; values outside the code page could not match a VARCHAR value anyway).
        PostgreSQL: text and varchar compare without a conversion."""
        return "CAST(%s AS VARCHAR(8000))" if self.dialect == "mssql" else "%s"

    def sql(self, text: str) -> str:
        return text.replace("%s", "?") if self.driver == "pyodbc" else text

    def execute(self, text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Run one statement with bound parameters; return the rows of its last result set.

        Column names come back lower-cased so callers read them the same way on
        PostgreSQL (which folds names) and SQL Server (which keeps them). Every
        result set is drained: with pyodbc, an error raised after a row count
        stays hidden until the next set is fetched.
        """
        cur = self.conn.cursor()
        try:
            cur.execute(self.sql(text), tuple(params))
            rows: list[dict[str, Any]] = []
            while True:
                if cur.description:
                    names = [d[0].lower() for d in cur.description]
                    rows = [dict(zip(names, row, strict=False)) for row in cur.fetchall()]
                if self.driver == "psycopg" or not cur.nextset():
                    break
            return rows
        finally:
            cur.close()

    def execute_script(self, text: str) -> None:
        """Run a parameterless script (one PostgreSQL file, or one T-SQL batch)."""
        cur = self.conn.cursor()
        try:
            cur.execute(text)
            if self.driver != "psycopg":
                while cur.nextset():
                    pass
        finally:
            cur.close()

    def commit(self) -> None:
        self.conn.commit()

    def rollback(self) -> None:
        self.conn.rollback()

    def close(self) -> None:
        self.conn.close()


def connection_info(conn_id: str = CONN_ID):
    from airflow.sdk import BaseHook

    try:
        return BaseHook.get_connection(conn_id)
    except Exception as exc:  # AirflowNotFoundException and friends
        raise ConfigurationError(
            f"Airflow connection '{conn_id}' is not defined. Set AIRFLOW_CONN_{conn_id.upper()} "
            "(URI or JSON) or create it in Airflow; `make run` points it at the embedded PostgreSQL."
        ) from exc


def open_database(conn_id: str = CONN_ID, autocommit: bool = False, connect_timeout_s: float | None = None) -> Database:
    """Open a new connection through the Airflow hook of its type.

    autocommit=False for migrations (one transaction per file); True for the
    pipeline, where every procedure call is its own transaction.
    """
    db = _open(conn_id, autocommit, connect_timeout_s)
    db.opener = lambda: _open(conn_id, autocommit, connect_timeout_s).conn
    return db


# The package's extra that brings each connection type's driver and Airflow provider.
EXTRA = {"postgres": "postgres", "mssql": "mssql", "odbc": "odbc"}


@contextmanager
def _driver(conn_id: str, conn_type: str):
    """A connection type whose extra is not installed: say which, instead of a bare ModuleNotFoundError."""
    try:
        yield
    except ModuleNotFoundError as exc:
        raise ConfigurationError(
            f"Connection '{conn_id}' has type '{conn_type}', whose driver is not installed ({exc.name} is missing): "
            f"install the package with that extra, pip install 'fondos[{EXTRA[conn_type]}]'") from None


def _open(conn_id: str, autocommit: bool, connect_timeout_s: float | None = None) -> Database:
    """connect_timeout_s: give up connecting after that long, unless the connection's own extra says
    otherwise (PostgreSQL's connect_timeout, pyodbc's login timeout; pymssql: the connection's extra)."""
    conn_type = connection_info(conn_id).conn_type
    if conn_type in EXTRA:
        with _driver(conn_id, conn_type):
            return _open_typed(conn_id, conn_type, autocommit, connect_timeout_s)
    raise ConfigurationError(
        f"Connection '{conn_id}' has type '{conn_type}'; use postgres, mssql (pymssql) or odbc (pyodbc)."
    )


def _open_typed(conn_id: str, conn_type: str, autocommit: bool, connect_timeout_s: float | None) -> Database:
    if conn_type == "postgres":
        from airflow.providers.postgres.hooks.postgres import PostgresHook

        hook = PostgresHook(postgres_conn_id=conn_id)
        if connect_timeout_s is not None and "connect_timeout" not in hook.connection.extra_dejson:
            import copy
            import json

            with_timeout = copy.deepcopy(hook.connection)
            extra = {**with_timeout.extra_dejson, "connect_timeout": max(1, round(connect_timeout_s))}
            with_timeout.extra = json.dumps(extra)
            hook._connection = with_timeout  # what get_conn() reads (it deep-copies it in turn)
        raw = hook.get_conn()
        raw.autocommit = autocommit
        return Database(raw, "postgres", "psycopg")
    if conn_type == "mssql":
        from airflow.providers.microsoft.mssql.hooks.mssql import MsSqlHook

        raw = MsSqlHook(mssql_conn_id=conn_id).get_conn()
        raw.autocommit(autocommit)
        return Database(raw, "mssql", "pymssql")
    if conn_type == "odbc":
        import pyodbc
        from airflow.providers.odbc.hooks.odbc import OdbcHook

        hook = OdbcHook(odbc_conn_id=conn_id, driver=ODBC_DRIVER)
        kwargs = dict(hook.connect_kwargs)
        if connect_timeout_s is not None:
            kwargs.setdefault("timeout", max(1, round(connect_timeout_s)))  # pyodbc: the login timeout
        raw = pyodbc.connect(odbc_connection_string(hook.connection), autocommit=autocommit, **kwargs)
        return Database(raw, "mssql", "pyodbc")
    raise AssertionError(conn_type)  # _open checked it


def _odbc_value(value: object) -> str:
    """An ODBC attribute value, brace-quoted when it holds a separator (ODBC escaping: } becomes }})."""
    text = str(value)
    if any(ch in text for ch in ";{}=") or text != text.strip():
        return "{" + text.replace("}", "}}") + "}"
    return text


def odbc_connection_string(conn) -> str:
    """The ODBC connection string for Microsoft ODBC Driver 18, from an Airflow connection.

    Built here rather than by OdbcHook because the hook emits PORT=..., a
    keyword Microsoft's driver ignores: the port belongs in SERVER=host,port.
    Encryption is on (Encrypt=yes) unless the connection's extra says
    otherwise; TrustServerCertificate appears only if the user puts it there.
    """
    server = conn.host or "localhost"
    if conn.port:
        server = f"{server},{conn.port}"
    extra = {k: v for k, v in (conn.extra_dejson or {}).items()
             if k.lower() not in {"driver", "dsn", "connect_kwargs", "sqlalchemy_scheme", "placeholder"}}
    parts = {"DRIVER": "{" + ODBC_DRIVER + "}", "SERVER": _odbc_value(server)}
    if conn.schema:
        parts["DATABASE"] = _odbc_value(conn.schema)
    if conn.login:
        parts["UID"] = _odbc_value(conn.login)
    if conn.password:
        parts["PWD"] = _odbc_value(conn.password)
    if not any(k.lower() == "encrypt" for k in extra):
        parts["Encrypt"] = "yes"
    parts["APP"] = "fondos"
    for key, value in extra.items():
        parts[key] = _odbc_value(value)
    return "".join(f"{k}={v};" for k, v in parts.items())


@contextmanager
def database(conn_id: str = CONN_ID, autocommit: bool = False) -> Iterator[Database]:
    db = open_database(conn_id, autocommit)
    try:
        yield db
    finally:
        db.close()
