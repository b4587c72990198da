"""The server's own lock counters, for the isolation test and the benchmark.

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

import time

from fondos.db.connection import Database

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
