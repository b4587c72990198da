"""The retry loop on a real PostgreSQL connection: a lock timeout (55P03) is retried and then succeeds with
one retry logged; a lock held past every attempt ends in the final error. And the backoff's bounds."""

from __future__ import annotations

import logging
import threading

import pytest

from fondos.db import calls
from fondos.db.calls import call
from fondos.db.connection import database, open_database
from fondos.errors import TransientDatabaseError
from fondos.pipeline.stages import STAGES
from pipeline_helpers import FECHA, run_all, seed, start


@pytest.fixture
def valued_fund(migrated_pg_db):
    seed(1, 10)
    item = start("retries")[0]
    run_all([item])
    with database(autocommit=True) as c:
        name = c.execute("SELECT current_database() AS d")[0]["d"]
        c.execute_script(f"ALTER DATABASE {name} SET lock_timeout = '500ms'")  # generated test name
    step = STAGES["IPA"].steps[2]
    params = {p: (FECHA if p == "FechaReporte" else item[p.lower()]) for p in step.params}
    return item, step.procedure, params


def _hold_rows(item, seconds: float | None):
    holder = open_database()
    holder.execute("SELECT 1 FROM staging.IPA_WorkTable WHERE ID_Ejecucion = %s FOR UPDATE", (item["id_ejecucion"],))
    if seconds is not None:
        threading.Timer(seconds, holder.commit).start()
    return holder


def test_a_lock_timeout_is_retried_once_then_the_step_succeeds(valued_fund, caplog, monkeypatch):
    """The lock is released during the first backoff (so no timing is assumed), and call() did sleep."""
    item, procedure, params = valued_fund
    holder = _hold_rows(item, None)
    slept = []

    def sleep(seconds):
        slept.append(seconds)
        holder.commit()  # the other transaction ends while we back off

    monkeypatch.setattr(calls.time, "sleep", sleep)
    try:
        with caplog.at_level(logging.WARNING, logger="fondos.db.calls"), database(autocommit=True) as db:
            rows = call(db, procedure, params)
    finally:
        holder.close()
    assert len(slept) == 1 and 0 <= slept[0] <= min(calls.MAX_DELAY_S, calls.BASE_DELAY_S * 2)
    assert rows == [{"filas": 10}]
    retries = [r.getMessage() for r in caplog.records if "retry" in r.getMessage()]
    assert len(retries) == 1 and "transient database error (canceling statement due to lock timeout)" in retries[0]
    assert "retry 1/4" in retries[0]


def test_a_lock_held_past_every_attempt_ends_in_the_final_error(valued_fund, caplog, monkeypatch):
    item, procedure, params = valued_fund
    monkeypatch.setattr(calls, "MAX_DELAY_S", 0.05)
    holder = _hold_rows(item, None)
    try:
        with caplog.at_level(logging.WARNING, logger="fondos.db.calls"), database(autocommit=True) as db, \
                pytest.raises(TransientDatabaseError, match="still failing after 5 attempts: canceling statement"):
            call(db, procedure, params)
    finally:
        holder.close()
    assert len([r for r in caplog.records if "retry" in r.getMessage()]) == calls.MAX_ATTEMPTS - 1


def test_backoff_is_full_jitter_within_its_cap():
    for attempt in range(1, 10):
        cap = min(calls.MAX_DELAY_S, calls.BASE_DELAY_S * 2 ** attempt)
        delays = [calls.backoff_delay(attempt) for _ in range(300)]
        assert all(0 <= d <= cap for d in delays)
        assert max(delays) > cap * 0.8 and min(delays) < cap * 0.2  # spread over the whole range


def test_a_stage_lock_held_for_300_s_is_handed_to_airflow_not_retried_in_the_call():
    """sp_Bloquear_Ejecucion's timeout (PostgreSQL FL001, SQL Server 50043) is transient for Airflow's
    retry, and the call itself does not wait another 300 s five times."""
    import pymssql

    class Busy(Exception):
        sqlstate = "FL001"

    assert calls.stage_busy(Busy()) and calls.stage_busy(pymssql.OperationalError(50043, b"held its lock"))
    assert not calls.stage_busy(pymssql.OperationalError(50030, b"missing source data"))
    attempts = []

    class Cursor:
        description = None

        def execute(self, sql, params):
            attempts.append(1)
            raise pymssql.OperationalError(50043, b"another call of stage IPA has held its lock for 300 s")

        def close(self):
            pass

    from fondos.db.connection import Database

    db = Database(type("C", (), {"cursor": lambda self: Cursor(), "rollback": lambda self: None})(), "mssql", "pymssql")
    with pytest.raises(TransientDatabaseError, match="held its lock for 300 s"):
        call(db, "staging.IPA_02_ValorizarPosiciones_v2", {"ID_Ejecucion": 1})
    assert attempts == [1]
