"""Drop the pipeline's connection to the fund database at a chosen call site, for real (issue 19).

Every statement the package sends goes through `Database.execute` or `Database.execute_script`. The
injector wraps both for the duration of a test and names each call's *site*: the first frame of the
`fondos` package outside the connection and call layers (`fondos/db/connection.py`, `fondos/db/calls.py`),
as `path:function:line`. A recording day lists every site the day reaches, so a site written tomorrow
is enumerated tomorrow, with no list to keep. In a fault day the injector, at the first call from the
target site, terminates that connection's server process (`pg_terminate_backend`, as a failover does)
and waits until it is gone; then the statement runs and meets a real lost connection. The database, the
error and the healing are the real ones: nothing is simulated but the moment.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from pathlib import Path

from fondos.db.connection import Database

PACKAGE = Path(sys.modules["fondos"].__file__).resolve().parent
_LAYERS = {PACKAGE / "db" / "connection.py", PACKAGE / "db" / "calls.py"}


def call_site() -> str | None:
    """The call path into the database, innermost first, as `path:function:line` of each frame of the
    package outside the connection and call layers, e.g. `pipeline/metrics.py:leer_metricas:160 <
    web/lectura.py:_row_metricas:108 < web/lectura.py:proceso:102`; None for a call from outside the
    package. A path, not one frame: the same read reached from two callers heals (or not) in each."""
    frames = []
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path not in _LAYERS and PACKAGE in path.parents:
            frames.append(f"{path.relative_to(PACKAGE)}:{frame.f_code.co_name}:{frame.f_lineno}")
        frame = frame.f_back
    return " < ".join(frames) or None


class Injector:
    """Records the sites a day reaches; drops the connection at the first call from `target`."""

    def __init__(self, admin_conninfo: str):
        self.admin_conninfo = admin_conninfo
        self.sites: Counter = Counter()
        self.target: str | None = None
        self.fired: list[str] = []
        # after the statement: drop the connection once the call has committed, at the nth call from the
        # site, so the caller never gets its answer and must send it again (a response lost in a failover)
        self.after_target: str | None = None
        self.after_nth = 1
        self._after_seen = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    def install(self, monkeypatch) -> None:
        injector = self
        execute, execute_script = Database.execute, Database.execute_script

        def wrapped_execute(db, text, params=()):
            injector.before(db)
            rows = execute(db, text, params)
            if injector.after(db):
                execute(db, "SELECT 1")  # meets the dead connection: the real error, and `rows` is lost
            return rows

        def wrapped_script(db, text):
            injector.before(db)
            return execute_script(db, text)

        monkeypatch.setattr(Database, "execute", wrapped_execute)
        monkeypatch.setattr(Database, "execute_script", wrapped_script)

    def before(self, db: Database) -> None:
        if getattr(self._local, "busy", False):
            return
        site = call_site()
        if site is None:
            return
        with self._lock:
            self.sites[site] += 1
            fire = self.target is not None and site == self.target and not self.fired
            if fire:
                self.fired.append(site)
        if fire:
            self.drop(db)

    def after(self, db: Database) -> bool:
        if self.after_target is None or getattr(self._local, "busy", False) or call_site() != self.after_target:
            return False
        with self._lock:
            self._after_seen += 1
            fire = self._after_seen == self.after_nth
            if fire:
                self.fired.append(f"after {self.after_target}")
        if fire:
            self.drop(db)
        return fire

    def drop(self, db: Database) -> None:
        """Terminate this connection's server process and wait until it is gone."""
        import psycopg

        pid = db.conn.info.backend_pid
        self._local.busy = True
        try:
            with psycopg.connect(self.admin_conninfo, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline and admin.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
                    time.sleep(0.01)
        finally:
            self._local.busy = False


class RandomDropper(threading.Thread):
    """Terminates one of the pipeline's backends at seeded random moments: at most `limit` in all, at
    least `min_gap_s` apart. That is the promise under test, a dropped connection heals, not a storm:
    a read retries once (its reconnect and re-read take milliseconds, well inside the gap) and a call
    makes 5 attempts, more than `limit` drops could take from it."""

    def __init__(self, admin_conninfo: str, seed: int, limit: int = 4, min_gap_s: float = 0.3, mean_gap_s: float = 0.45):
        super().__init__(daemon=True)
        import random

        self.admin_conninfo, self.rng, self.limit = admin_conninfo, random.Random(seed), limit
        self.min_gap, self.extra_gap = min_gap_s, max(0.0, mean_gap_s - min_gap_s)
        self.stop = threading.Event()
        self.killed: list[int] = []

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.admin_conninfo, autocommit=True) as admin:
            own = admin.info.backend_pid
            while len(self.killed) < self.limit and not self.stop.wait(
                    (self.min_gap if self.killed else 0) + self.rng.expovariate(1 / self.extra_gap)):
                pids = [r[0] for r in admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> %s "
                    "AND backend_type = 'client backend' ORDER BY pid", (own,)).fetchall()]
                if pids:
                    pid = self.rng.choice(pids)
                    admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
                    self.killed.append(pid)
