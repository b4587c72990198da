"""The server's own lock counters: for the isolation test, the benchmark, and each proceso's metrics.

PostgreSQL: pg_stat_database.deadlocks (cumulative) for this database.
SQL Server: the cumulative counters the plan's success metrics name, from
sys.dm_os_performance_counters (needs VIEW SERVER STATE):
'Number of Deadlocks/sec', 'Lock Timeouts (timeout > 0)/sec', 'Lock Waits/sec'
(Locks, _Total) and 'Table Lock Escalations/sec' (Access Methods); despite the
names, cumulative counts. 'Lock Timeouts/sec' is not used: it also counts the
engine's internal zero-timeout lock requests, which are no one's timeout.
All of them are server-wide: other databases' activity counts too.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from fondos.db.calls import call
from fondos.db.connection import Database

log = logging.getLogger(__name__)

MSSQL_COUNTERS = {
    "Number of Deadlocks/sec": "deadlocks",
    "Lock Timeouts (timeout > 0)/sec": "lock_timeouts",
    "Lock Waits/sec": "lock_waits",
    "Table Lock Escalations/sec": "lock_escalations",
}


def lock_counters(db: Database) -> dict[str, int]:
    if db.dialect == "postgres":
        time.sleep(0.6)  # let backends flush their statistics
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
    out = {v: 0 for v in MSSQL_COUNTERS.values()}
    for r in rows:
        out[MSSQL_COUNTERS[r["name"]]] = int(r["value"])
    return out


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: after[k] - before.get(k, 0) for k in after}


# The counters logs.Proceso_Metricas keeps (migration 022), per engine; None = the engine has no such counter.
PROCESO_COUNTERS = ("deadlocks", "lock_waits", "lock_timeouts", "lock_escalations")


def proceso_counters(db: Database) -> dict[str, int | None]:
    """The cumulative counters a proceso's metrics are deltas of.

    PostgreSQL: deadlocks of this database (pg_stat_database); it counts no lock
    waits or lock timeouts and never escalates, so those are None. SQL Server:
    the four performance counters above (server-wide). Counters that cannot be
    read (SQL Server without VIEW SERVER PERFORMANCE STATE) are None, with a
    warning saying what to grant: the metrics must never fail a run.
    """
    try:
        raw = lock_counters(db)
    except Exception as exc:  # noqa: BLE001 - a permission error on the DMV must not fail the proceso
        db.rollback()
        log.warning("server counters unreadable (%s): this proceso's deadlock and lock metrics stay empty. "
                    "On SQL Server grant the pipeline login VIEW SERVER PERFORMANCE STATE "
                    "(fondos db bootstrap-mssql does)", str(exc).splitlines()[0][:200])
        return dict.fromkeys(PROCESO_COUNTERS)
    return {k: raw.get(k) for k in PROCESO_COUNTERS}


def registrar_metricas(db: Database, id_proceso: int, momento: str) -> dict[str, Any] | None:
    """Snapshot the counters into logs.Proceso_Metricas (INICIO or FIN) and return the proceso's metrics row."""
    c = proceso_counters(db)
    call(db, "logs.sp_Registrar_Metricas_Proceso", {
        "ID_Proceso": id_proceso, "Momento": momento, "Motor": db.dialect, "Deadlocks": c["deadlocks"],
        "LockWaits": c["lock_waits"], "LockTimeouts": c["lock_timeouts"], "LockEscalations": c["lock_escalations"]})
    return leer_metricas(db, id_proceso)


def leer_metricas(db: Database, id_proceso: int) -> dict[str, Any] | None:
    rows = db.execute("SELECT * FROM logs.vw_Proceso_Metricas WHERE ID_Proceso = %s", (id_proceso,))
    db.commit()
    return rows[0] if rows else None
