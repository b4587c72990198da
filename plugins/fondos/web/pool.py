"""The proceso API's own connections to the fund database: few, bounded, with timeouts.

The API runs inside Airflow's API server, whose worker threads also serve the UI and the tasks'
heartbeats, and it reads the database the stage tasks write. Neither may be starved by many boards
open at once or a slow database, so:

* at most FONDOS_API_POOL_SIZE connections (default 4) are in use by the API at any moment, per API
  server process; idle ones are kept for the next request;
* a request that finds them all busy waits at most FONDOS_API_POOL_WAIT_S (default 0.5 s), then gets
  503 with `Retry-After` (FONDOS_API_RETRY_AFTER_S, default 2): a fast refusal, never a thread parked
  behind the database;
* each statement may run at most FONDOS_API_STATEMENT_TIMEOUT_S (default 5 s): PostgreSQL's
  `statement_timeout`; SQL Server's `SET LOCK_TIMEOUT` (the usual cause of a slow read is a lock
  wait; pyodbc connections also get the ODBC query timeout). A statement cut by it answers 503.
* connecting gives up after FONDOS_API_CONNECT_TIMEOUT_S (default 5 s) unless the connection's own
  extra sets it (PostgreSQL's `connect_timeout`; pyodbc's login timeout; for pymssql set
  `login_timeout` in the connection's extra): a database that accepts the socket and never answers is
  a 503, not a parked thread;
* it connects with the Airflow connection FONDOS_API_CONN_ID (default: the pipeline's `fondos_db`),
  which should be a login in the read-only role fondos_lector (migration 026).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from fondos.db.connection import Database, open_database
from fondos.settings import CONN_ID

log = logging.getLogger(__name__)


def api_conn_id() -> str:
    return os.environ.get("FONDOS_API_CONN_ID") or CONN_ID


class PoolSaturated(Exception):
    """Every API connection is busy: answer 503 with Retry-After."""

    def __init__(self, size: int, wait_s: float, retry_after_s: int):
        super().__init__(f"the proceso API's {size} database connections are all busy (waited {wait_s:g} s)")
        self.retry_after_s = retry_after_s


class ApiPool:
    def __init__(self, conn_id: str, size: int, wait_s: float, statement_timeout_s: float, retry_after_s: int,
                 connect_timeout_s: float = 5):
        if size < 1:
            raise ValueError(f"FONDOS_API_POOL_SIZE must be at least 1, got {size}")
        self.conn_id, self.size, self.wait_s = conn_id, size, wait_s
        self.statement_timeout_s, self.retry_after_s = statement_timeout_s, retry_after_s
        self.connect_timeout_s = connect_timeout_s
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[Database] = []
        self._lock = threading.Lock()
        self.in_use = 0
        self.peak = 0

    @contextmanager
    def connection(self) -> Iterator[Database]:
        """A connection for one request; a connection that failed is closed, not kept."""
        if not self._slots.acquire(timeout=self.wait_s):
            raise PoolSaturated(self.size, self.wait_s, self.retry_after_s)
        with self._lock:
            self.in_use += 1
            self.peak = max(self.peak, self.in_use)
        db = None
        healthy = False
        try:
            db = self._take() or self._open()
            yield db
            healthy = True
        finally:
            if db is not None:
                self._give(db) if healthy and not db.closed else _close(db)
            with self._lock:
                self.in_use -= 1
            self._slots.release()

    def _take(self) -> Database | None:
        with self._lock:
            while self._idle:
                db = self._idle.pop()
                if not db.closed:
                    return db
        return None

    def _give(self, db: Database) -> None:
        with self._lock:
            self._idle.append(db)

    def _open(self) -> Database:
        db = open_database(self.conn_id, autocommit=True, connect_timeout_s=self.connect_timeout_s)
        ms = int(self.statement_timeout_s * 1000)
        if db.dialect == "postgres":
            db.execute("SELECT set_config('statement_timeout', %s, false)", (str(ms),))
        else:
            db.execute(f"SET LOCK_TIMEOUT {ms}")  # an int of our configuration: SET takes no parameter
            if db.driver == "pyodbc":
                db.conn.timeout = max(1, round(self.statement_timeout_s))
        return db

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for db in idle:
            _close(db)


def _close(db: Database) -> None:
    try:
        db.close()
    except Exception:  # noqa: BLE001 - closing a dead connection is a courtesy
        log.debug("closing an API connection failed", exc_info=True)


_pools: dict[tuple[str, str | None], ApiPool] = {}
_pools_lock = threading.Lock()


def pool() -> ApiPool:
    """The pool of this process for the API's connection as it is configured now (a changed connection
    definition, as in the tests, gets a pool of its own)."""
    conn_id = api_conn_id()
    key = (conn_id, os.environ.get(f"AIRFLOW_CONN_{conn_id.upper()}"))
    with _pools_lock:
        if key not in _pools:
            _pools[key] = ApiPool(
                conn_id,
                size=int(os.environ.get("FONDOS_API_POOL_SIZE", "4")),
                wait_s=float(os.environ.get("FONDOS_API_POOL_WAIT_S", "0.5")),
                statement_timeout_s=float(os.environ.get("FONDOS_API_STATEMENT_TIMEOUT_S", "5")),
                retry_after_s=int(os.environ.get("FONDOS_API_RETRY_AFTER_S", "2")),
                connect_timeout_s=float(os.environ.get("FONDOS_API_CONNECT_TIMEOUT_S", "5")),
            )
        return _pools[key]
