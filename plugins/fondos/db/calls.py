"""Calling the database's procedures: one dialect-neutral call, bound parameters,
deadlock retries with jittered backoff, errors classified.

    T-SQL:      EXEC schema.Proc @ID_Ejecucion = %s, @FechaReporte = %s, ...
    PostgreSQL: SELECT * FROM schema.proc(ID_Ejecucion => %s, FechaReporte => %s, ...)

Named arguments in both dialects, so parameter order never matters and a
renamed parameter fails loudly instead of shifting values.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fondos.db.connection import Database
from fondos.errors import DataError, TransientDatabaseError

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 5
BASE_DELAY_S = 0.2
MAX_DELAY_S = 5.0
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")

# SQLSTATEs and SQL Server error numbers that mean "try again": deadlock victim,
# serialization failure, lock timeout, lost connection.
_TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03", "08000", "08003", "08006", "08001", "08004", "08007", "08S01",
                        "08S02", "57P01", "57P02", "57P03", "HYT00", "HYT01"}
# ...of which these mean the connection itself is gone (or unusable): reopen it before the next attempt.
# PostgreSQL class 08 and admin shutdown/crash; ODBC's communication link failure and timeouts (the
# driver leaves the connection in an unknown state after HYT00); pymssql's DB-Lib 20003 (timeout),
# 20006 (write to the server failed), 20009 (server unreachable), 20047 (DBPROCESS is dead).
_CONNECTION_SQLSTATES = {"08000", "08001", "08003", "08004", "08006", "08007", "08S01", "08S02",
                         "57P01", "57P02", "57P03", "HYT00", "HYT01"}
_CONNECTION_MSSQL_NUMBERS = {20003, 20006, 20009, 20047, 10053, 10054}
# 50046: logs.sp_Bloquear_Ejecucion's stage lock was chosen as a deadlock victim (sp_getapplock returns -3).
_TRANSIENT_MSSQL_NUMBERS = {1205, 1222, 3960, 3961, 10054, 10053, 20003, 20006, 20009, 20047, 50046}


def call_sql(db: Database, procedure: str, names: list[str]) -> str:
    for ident in [procedure, *names]:
        if not _IDENT.match(ident):  # identifiers come from our catalog; refuse anything else
            raise ValueError(f"not a plain SQL identifier: {ident!r}")
    if db.dialect == "postgres":
        args = ", ".join(f"{n} => %s" for n in names)
        return db.sql(f"SELECT * FROM {procedure}({args})")
    args = ", ".join(f"@{n} = %s" for n in names)
    return db.sql(f"EXEC {procedure} {args}".rstrip())


def _mssql_number(exc: BaseException) -> int | None:
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], int):  # pymssql: (number, message)
        return args[0]
    text = " ".join(str(a) for a in args)
    m = re.search(r"\((\d{3,5})\)", text)  # pyodbc: "... (1205) (SQLExecDirectW)"
    return int(m.group(1)) if m else None


def is_transient(exc: BaseException) -> bool:
    sqlstate = getattr(exc, "sqlstate", None)  # psycopg
    if sqlstate:
        return sqlstate in _TRANSIENT_SQLSTATES
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str) and args[0] in _TRANSIENT_SQLSTATES:  # pyodbc: (sqlstate, message)
        return True
    return _mssql_number(exc) in _TRANSIENT_MSSQL_NUMBERS


def connection_lost(exc: BaseException, db: Database | None = None) -> bool:
    """The error means the connection is gone: the next attempt needs a new one."""
    sqlstate = getattr(exc, "sqlstate", None)  # psycopg
    if sqlstate in _CONNECTION_SQLSTATES:
        return True
    args = getattr(exc, "args", ())
    if args and isinstance(args[0], str) and args[0] in _CONNECTION_SQLSTATES:  # pyodbc
        return True
    if _mssql_number(exc) in _CONNECTION_MSSQL_NUMBERS:
        return True
    # psycopg raises OperationalError("the connection is closed"), without a SQLSTATE, on a dead socket
    return db is not None and db.driver == "psycopg" and db.closed


def database_message(exc: BaseException) -> str:
    """The server's own message, without driver noise (and never connection details)."""
    diag = getattr(exc, "diag", None)
    if diag is not None and getattr(diag, "message_primary", None):
        return diag.message_primary
    args = getattr(exc, "args", ())
    if len(args) >= 2 and isinstance(args[1], bytes):  # pymssql
        text = args[1].decode(errors="replace")
        return text.split("DB-Lib error")[0].strip().rstrip(".") + "."
    if len(args) >= 2 and isinstance(args[1], str):  # pyodbc
        text = re.sub(r"^(\s*\[[^\]]*\])+\s*", "", args[1])  # [42000] [Microsoft][ODBC Driver 18 ...][SQL Server]
        return re.sub(r"(\s*\(\d+\))?\s*\(SQL\w+\)\s*$", "", text).strip()  # ... (50030) (SQLExecDirectW)
    return str(exc).strip()


def backoff_delay(attempt: int) -> float:
    """Full jitter: uniform in [0, min(cap, base * 2^attempt)] (AWS architecture blog)."""
    return random.uniform(0, min(MAX_DELAY_S, BASE_DELAY_S * (2 ** attempt)))


def stage_busy(exc: BaseException) -> bool:
    """logs.sp_Bloquear_Ejecucion gave up after 300 s: another call of the stage holds its lock.

    Transient (the other call will end), but not worth an in-call retry: Airflow retries the task."""
    return getattr(exc, "sqlstate", None) == "FL001" or _mssql_number(exc) == 50043


def call(db: Database, procedure: str, params: Mapping[str, Any], context: str = "") -> list[dict[str, Any]]:
    """Run one procedure with bound parameters and return its rows (lower-case keys).

    The connection must be in autocommit mode: each procedure is its own
    transaction (T-SQL procedures open and commit theirs; a PostgreSQL
    function runs atomically). Transient errors are retried up to
    MAX_ATTEMPTS with jittered backoff, each retry logged; any other database
    error becomes a DataError carrying the server's message.
    """
    names = list(params)
    statement = call_sql(db, procedure, names)
    values = [params[n] for n in names]
    for attempt in range(1, MAX_ATTEMPTS + 1):
        try:
            return db.execute(statement, values)
        except Exception as exc:
            if _is_programming_error(exc):
                raise
            if stage_busy(exc):
                raise TransientDatabaseError(
                    f"{procedure}{' (' + context + ')' if context else ''}: {database_message(exc)}") from exc
            lost = connection_lost(exc, db)
            if lost or is_transient(exc):
                if attempt == MAX_ATTEMPTS:
                    raise TransientDatabaseError(
                        f"{procedure}{' (' + context + ')' if context else ''}: still failing after "
                        f"{MAX_ATTEMPTS} attempts: {database_message(exc)}"
                    ) from exc
                delay = backoff_delay(attempt)
                log.warning("%s: %s (%s), retry %d/%d in %.2fs",
                            procedure, "connection lost, reconnecting" if lost else "transient database error",
                            database_message(exc), attempt, MAX_ATTEMPTS - 1, delay)
                time.sleep(delay)
                if lost:
                    _reopen(db, procedure)
                else:
                    _reset(db)
                continue
            raise DataError(database_message(exc)) from exc
    raise AssertionError("unreachable")


def read(db: Database, text: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
    """Run one read-only query (a SELECT of our views and tables) and return its rows (lower-case keys).

    A read can be repeated: on a lost connection (a failover, a restarted server) the connection is
    reopened and the query run once more, as `call` does for a step. Writes never come here: they go
    through `call`, whose procedures are transactions that a retry repeats safely."""
    return healing(db, lambda: db.execute(text, params), "views")


def healing(db: Database, reads: Callable[[], T], what: str) -> T:
    """`reads()` (statements that only read, any number), and once more on a reopened connection if the
    connection was lost. Any other failure is rolled back (when the connection still lives) and raised;
    a connection lost twice is left reopened if it can be, and raised."""
    try:
        return reads()
    except Exception as exc:
        if not connection_lost(exc, db):
            _reset(db)
            raise
        log.warning("connection lost while reading the %s (%s), reconnecting and reading again", what,
                    database_message(exc))
        _reopen(db, what)
    try:
        return reads()
    except Exception as exc:
        if connection_lost(exc, db):
            _reopen(db, what)
        else:
            _reset(db)
        raise


def _is_programming_error(exc: BaseException) -> bool:
    """Our own bug (wrong procedure or parameter name): do not dress it up as data."""
    sqlstate = getattr(exc, "sqlstate", None)
    return sqlstate in {"42883", "42P01", "42703", "42601"} or _mssql_number(exc) in {2812, 8145, 201}


def _reopen(db: Database, procedure: str) -> None:
    """A new connection for the next attempt. The step is one transaction, and the server rolled back
    whatever the dead connection had not committed, so the retried step writes its rows once."""
    try:
        db.reconnect()
    except Exception as exc:  # the server may still be unreachable: the next attempt says so again
        log.warning("%s: could not reconnect yet (%s)", procedure, database_message(exc))


def _reset(db: Database) -> None:
    try:
        db.rollback()
    except Exception:  # the connection may be gone; the next attempt will say so
        log.debug("rollback after a transient error failed", exc_info=True)
