"""The server's own lock counters: for the isolation test, the benchmark, and each proceso's metrics.

PostgreSQL: pg_stat_database.deadlocks (cumulative) for this database.
SQL Server: the cumulative counters the plan's success metrics name, from
sys.dm_os_performance_counters (needs VIEW SERVER PERFORMANCE STATE on 2022,
VIEW SERVER STATE before):
'Number of Deadlocks/sec', 'Lock Timeouts (timeout > 0)/sec', 'Lock Waits/sec'
(Locks, _Total) and 'Table Lock Escalations/sec' (Access Methods); despite the
names, cumulative counts. 'Lock Timeouts/sec' is not used: it also counts the
engine's internal zero-timeout lock requests, which are no one's timeout.
All of them are server-wide: other databases' activity counts too.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from fondos.db.calls import call, healing, read
from fondos.db.connection import Database

log = logging.getLogger(__name__)

MSSQL_COUNTERS = {
    "Number of Deadlocks/sec": "deadlocks",
    "Lock Timeouts (timeout > 0)/sec": "lock_timeouts",
    "Lock Waits/sec": "lock_waits",
    "Table Lock Escalations/sec": "lock_escalations",
}


def stats_wait_s() -> float:
    """How long a PostgreSQL snapshot waits for other backends to flush their statistics (they do so at
    most every second when idle, PGSTAT_IDLE_INTERVAL): FONDOS_METRICS_STATS_WAIT_S, default 0.6 s. Tests
    that do not count deadlocks set it to 0."""
    return float(os.environ.get("FONDOS_METRICS_STATS_WAIT_S", "0.6"))


def lock_counters(db: Database) -> dict[str, int]:
    """The server's cumulative lock counters. A counter the server did not return is absent, never 0."""
    if db.dialect == "postgres":
        time.sleep(stats_wait_s())  # let backends flush their statistics
        db.execute("SELECT pg_stat_clear_snapshot()")
        row = db.execute(
            "SELECT deadlocks, conflicts FROM pg_stat_database WHERE datname = current_database()")[0]
        db.commit()
        return {"deadlocks": int(row["deadlocks"]), "conflicts": int(row["conflicts"])}
    names = list(MSSQL_COUNTERS)
    rows = db.execute(
        "SELECT RTRIM(counter_name) AS name, SUM(cntr_value) AS value FROM sys.dm_os_performance_counters "
        "WHERE ((RTRIM(object_name) LIKE '%%:Locks' AND RTRIM(instance_name) = '_Total') "
        "OR RTRIM(object_name) LIKE '%%:Access Methods') "
        "AND RTRIM(counter_name) IN (" + ", ".join(["%s"] * len(names)) + ") GROUP BY counter_name",
        names,
    )
    db.commit()
    out = {MSSQL_COUNTERS[r["name"]]: int(r["value"]) for r in rows if r["name"] in MSSQL_COUNTERS}
    if len(out) < len(MSSQL_COUNTERS):
        log.warning("SQL Server returned no value for %s (performance counters disabled? error 3409 in the "
                    "error log): those metrics stay empty", ", ".join(sorted(set(MSSQL_COUNTERS.values()) - set(out))))
    return out


def counting_since(db: Database):
    """Since when the counters count: the server's start (SQL Server; PostgreSQL also its last statistics
    reset). Two snapshots with different values straddle a restart or reset: their deltas mean nothing."""
    if db.dialect == "postgres":
        row = db.execute("SELECT CAST(GREATEST(pg_postmaster_start_time(), stats_reset) AS TIMESTAMP(3)) AS desde "
                         "FROM pg_stat_database WHERE datname = current_database()")[0]
    else:
        row = db.execute("SELECT CAST(sqlserver_start_time AS DATETIME2(3)) AS desde FROM sys.dm_os_sys_info")[0]
    db.commit()
    return row["desde"]


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


# The counters logs.Proceso_Metricas keeps (migration 022), per engine; None = the engine has no such counter.
PROCESO_COUNTERS = ("deadlocks", "lock_waits", "lock_timeouts", "lock_escalations")


def proceso_counters(db: Database) -> dict[str, Any]:
    """The cumulative counters a proceso's metrics are deltas of, and since when they count.

    PostgreSQL: deadlocks of this database (pg_stat_database); it counts no lock
    waits or lock timeouts and never escalates, so those are None. SQL Server:
    the four performance counters above (server-wide). Counters that cannot be
    read (SQL Server without VIEW SERVER PERFORMANCE STATE, or VIEW SERVER STATE
    before 2022) are None, with a warning saying what to grant: the metrics must
    never fail a run.
    """
    try:
        raw, desde = healing(db, lambda: (lock_counters(db), counting_since(db)), "metrics")
    except Exception as exc:  # noqa: BLE001 - a permission error on the DMV must not fail the proceso
        log.warning("server counters unreadable (%s): this proceso's deadlock and lock metrics stay empty. "
                    "On SQL Server grant the pipeline login VIEW SERVER PERFORMANCE STATE (VIEW SERVER STATE "
                    "before 2022); fondos db bootstrap-mssql does", str(exc).splitlines()[0][:200])
        return {**dict.fromkeys(PROCESO_COUNTERS), "desde": None}
    return {**{k: raw.get(k) for k in PROCESO_COUNTERS}, "desde": desde}


def registrar_metricas(db: Database, id_proceso: int, momento: str) -> dict[str, Any] | None:
    """Snapshot the counters into logs.Proceso_Metricas (INICIO or FIN) and return the proceso's metrics row.

    Recording the metrics never fails the proceso: a failure here (after the call's own retries) is a
    warning, and the metrics of this proceso are then incomplete."""
    c = proceso_counters(db)
    try:
        call(db, "logs.sp_Registrar_Metricas_Proceso", {
            "ID_Proceso": id_proceso, "Momento": momento, "Motor": db.dialect, "Deadlocks": c["deadlocks"],
            "LockWaits": c["lock_waits"], "LockTimeouts": c["lock_timeouts"],
            "LockEscalations": c["lock_escalations"], "ServidorDesde": c["desde"]})
    except Exception as exc:  # noqa: BLE001 - the proceso's own work is done; say it, keep going
        log.warning("could not record the %s metrics of proceso %s: %s", momento, id_proceso,
                    str(exc).splitlines()[0][:300])
    try:
        return leer_metricas(db, id_proceso)  # a read: it heals a lost connection itself
    except Exception as exc:  # noqa: BLE001
        log.warning("could not read the metrics of proceso %s: %s", id_proceso, str(exc).splitlines()[0][:300])
        return None


def leer_metricas(db: Database, id_proceso: int) -> dict[str, Any] | None:
    rows = read(db, "SELECT * FROM logs.vw_Proceso_Metricas WHERE ID_Proceso = %s", (id_proceso,))
    db.commit()
    return rows[0] if rows else None
