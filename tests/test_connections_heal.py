"""Connections that heal (issue 10): the pipeline's backends are terminated again and again during a
multi-fund run on the embedded PostgreSQL; every step reconnects and is retried, and the proceso ends OK
with every fund's rows identical to an undisturbed run of the same date."""

from __future__ import annotations

import logging
import threading

from conftest import STATS_WAIT
from fondos.db.connection import database
from pipeline_helpers import fund_fingerprints, proceso_row, run_all, seed, start

FUNDS = 4


MAX_KILLS = 12


def _terminator(stop: threading.Event, killed: list[int], rounds: int, every_s: float) -> None:
    """Terminate active client backends of this database, each at most once and at most MAX_KILLS in all,
    so one call can never lose all of its attempts (then let the run finish)."""
    with database(autocommit=True) as admin:
        for _ in range(rounds):
            if stop.wait(every_s) or len(killed) >= MAX_KILLS:
                return
            pids = [r["pid"] for r in admin.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND backend_type = 'client backend' AND state = 'active'") if r["pid"] not in killed][:1]
            for pid in pids:
                if admin.execute("SELECT pg_terminate_backend(%s) AS done", (pid,))[0]["done"]:
                    killed.append(pid)


def test_dropped_connections_are_reopened_and_the_run_ends_ok_with_identical_rows(migrated_pg_db, caplog):
    seed(FUNDS, 400)

    calm = start("undisturbed")
    expected = run_all(calm, workers=FUNDS)
    assert all(set(r.values()) <= {"OK", "OMITIDO"} for r in expected.values()), expected

    stormy = start("disturbed")  # the first proceso is OK, so the same date may run again
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_terminator, args=(stop, killed, 40, 0.05))
    with caplog.at_level(logging.WARNING, logger="fondos.db.calls"):
        killer.start()
        try:
            outcome = run_all(stormy, workers=FUNDS)
        finally:
            stop.set()
            killer.join()

    reconnects = [r.getMessage() for r in caplog.records if "connection lost, reconnecting" in r.getMessage()]
    assert killed and reconnects, (killed, reconnects)  # the storm really hit statements in flight
    assert outcome == expected
    with database(autocommit=True) as conn:
        assert proceso_row(conn, stormy[0]["id_proceso"])["estado"] == "OK"
        for a, b in zip(calm, stormy, strict=True):
            assert fund_fingerprints(conn, b["id_ejecucion"]) == fund_fingerprints(conn, a["id_ejecucion"]), a["id_fund"]
    print(f"\n{len(killed)} backends terminated during the run; {len(reconnects)} reconnects")


def _kill_once_created(clave: str, killed: list[int], stop: threading.Event) -> None:
    """As soon as the proceso of `clave` is committed, terminate every other client backend of this
    database: the pipeline's connection, idle in the metrics snapshot that follows the creation."""
    with database(autocommit=True) as admin:
        while not stop.wait(0.01):
            if admin.execute("SELECT 1 AS x FROM logs.Procesos WHERE ClaveEjecucion = %s", (clave,)):
                for r in admin.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"):
                    if admin.execute("SELECT pg_terminate_backend(%s) AS done", (r["pid"],))[0]["done"]:
                        killed.append(r["pid"])
                return


def test_a_connection_dropped_during_the_metrics_at_creation_does_not_fail_the_run(migrated_pg_db, caplog,
                                                                                   monkeypatch):
    """Issue 19: the metrics snapshot taken right after sp_Inicializar_Proceso commits used to end the
    task with 'the connection is lost' (its rollback ran on the dead connection)."""
    monkeypatch.setenv("FONDOS_METRICS_STATS_WAIT_S", STATS_WAIT)  # the snapshot's flush wait is the fault's window
    seed(2, 20)
    stop, killed = threading.Event(), []
    killer = threading.Thread(target=_kill_once_created, args=("dropped-at-metrics", killed, stop))
    killer.start()
    try:
        with caplog.at_level(logging.WARNING, logger="fondos.pipeline.metrics"):
            items = start("dropped-at-metrics")
    finally:
        stop.set()
        killer.join()
    assert killed, "the pipeline's connection was not terminated: the fault did not happen"
    assert any("connection lost while reading the metrics" in r.getMessage() for r in caplog.records)
    assert len(items) == 2
    with database(autocommit=True) as conn:
        metricas = conn.execute("SELECT * FROM logs.Proceso_Metricas WHERE ID_Proceso = %s", (items[0]["id_proceso"],))
    assert metricas, "the INICIO snapshot was not recorded after the reconnect"
