"""The plan's success metrics on a real SQL Server (make test-mssql).

Snapshots SQL Server's cumulative lock counters (sys.dm_os_performance_counters:
deadlocks, lock timeouts, lock waits, table lock escalations) and the
lock-promotion count of the extract/staging indexes
(sys.dm_db_index_operational_stats), runs N funds concurrently (one connection
each) against the fund database, snapshots again and prints the differences.
Needs VIEW SERVER STATE (run it as the owner/admin, not the pipeline login).

    FONDOS_TEST_MSSQL_URL=mssql://sa:...@localhost:1433/Fondos python bench/mssql_counters.py
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "tests"))

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "50"))
POS = int(os.environ.get("FONDOS_BENCH_POSICIONES_DB", "2000"))

PROMOTIONS = (
    "SELECT ISNULL(SUM(s.index_lock_promotion_count), 0) AS n "
    "FROM sys.dm_db_index_operational_stats(DB_ID(), NULL, NULL, NULL) AS s "
    "JOIN sys.objects AS o ON o.object_id = s.object_id "
    "WHERE SCHEMA_NAME(o.schema_id) IN ('extract', 'staging')"
)


def main() -> int:
    url = os.environ.get("FONDOS_TEST_MSSQL_URL")
    if not url:
        raise SystemExit("set FONDOS_TEST_MSSQL_URL to an Airflow connection URI of the fund database (mssql or odbc)")
    os.environ["AIRFLOW_CONN_FONDOS_DB"] = url
    from fondos.db import database
    from fondos.demo import seed
    from fondos.metrics import delta, lock_counters
    from fondos.migrate import migrate
    from fondos.proceso import cerrar_procesos_en_progreso
    from pipeline_helpers import run_all, start

    fecha = date(2026, 3, 13)
    with database() as db:
        if db.dialect != "mssql":
            raise SystemExit("this script measures SQL Server")
        migrate(db)
        seed(db, fecha, N, POS)
    cerrar_procesos_en_progreso()  # an earlier run of this date must not block the new one
    with database() as db:
        before, promo_before = lock_counters(db), db.execute(PROMOTIONS)[0]["n"]
    items = start(f"mssql-counters-{time.time()}", fecha=fecha)
    t0 = time.monotonic()
    outcomes = run_all(items, workers=N)
    elapsed = time.monotonic() - t0
    with database() as db:
        after, promo_after = lock_counters(db), db.execute(PROMOTIONS)[0]["n"]
    ok = sum(1 for o in outcomes.values() if set(o.values()) <= {"OK", "OMITIDO"})
    print(f"{N} funds x {POS} positions on {N} connections: {elapsed:.1f} s, {ok}/{N} funds OK")
    for name, value in delta(before, after).items():
        print(f"  {name:18} {value}")
    print(f"  {'lock promotions':18} {promo_after - promo_before}  (extract/staging indexes)")
    print("plan targets per run: deadlocks 0 (max 1), lock escalations 0 (max 2), timeouts 0")
    return 0 if ok == N and delta(before, after)["deadlocks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
