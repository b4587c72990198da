"""The plan's success metrics on a real SQL Server (make test-mssql).

Snapshots SQL Server's cumulative lock counters (sys.dm_os_performance_counters:
deadlocks, lock timeouts with a timeout > 0, lock waits, table lock
escalations), runs N funds concurrently (one connection each) against the fund
database, snapshots again and prints the differences.

Two connections: FONDOS_TEST_MSSQL_URL, the owner or an administrator (migrate,
demo data, and the counters, which need VIEW SERVER STATE), and
FONDOS_TEST_MSSQL_PIPELINE_URL, the pipeline login in the role fondos_pipeline
that runs the funds as Airflow would (defaults to the first). Each is an
Airflow connection as a URI or JSON.

    FONDOS_TEST_MSSQL_URL='{"conn_type": "odbc", ...}' python bench/mssql_counters.py

The counters are server-wide: other activity on the server counts too. The
extract/staging tables run with LOCK_ESCALATION = DISABLE (017), so their
escalation count stays 0 by construction; the failure mode to watch instead is
error 1204 (the instance ran out of locks), which would fail a fund.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "50"))
POS = int(os.environ.get("FONDOS_BENCH_POSICIONES_DB", "2000"))


def main() -> int:
    url = os.environ.get("FONDOS_TEST_MSSQL_URL")
    if not url:
        raise SystemExit("set FONDOS_TEST_MSSQL_URL to an Airflow connection (URI or JSON) of the fund database")
    os.environ["AIRFLOW_CONN_FONDOS_OWNER"] = url
    os.environ["AIRFLOW_CONN_FONDOS_DB"] = os.environ.get("FONDOS_TEST_MSSQL_PIPELINE_URL") or url
    from fondos.db.connection import database
    from fondos.db.migrate import migrate
    from fondos.pipeline.metrics import delta, lock_counters
    from fondos.pipeline.proceso import cerrar_procesos_en_progreso
    from fondos_dev.demo import seed
    from pipeline_helpers import run_all, start

    fecha = date(2026, 3, 13)
    with database("fondos_owner") as db:
        if db.dialect != "mssql":
            raise SystemExit("this script measures SQL Server")
        migrate(db)
        seed(db, fecha, N, POS)
    cerrar_procesos_en_progreso()  # an earlier run of this date must not block the new one
    with database("fondos_owner") as db:
        before = lock_counters(db)
    items = start(f"mssql-counters-{time.time()}", fecha=fecha)
    t0 = time.monotonic()
    outcomes = run_all(items, workers=N)
    elapsed = time.monotonic() - t0
    with database("fondos_owner") as db:
        after = lock_counters(db)
    ok = sum(1 for o in outcomes.values() if set(o.values()) <= {"OK", "OMITIDO"})
    print(f"{N} funds x {POS} positions on {N} connections: {elapsed:.1f} s, {ok}/{N} funds OK")
    for name, value in delta(before, after).items():
        print(f"  {name:18} {value}")
    print("plan targets per run: deadlocks 0 (max 1), lock escalations 0 (max 2), timeouts 0")
    return 0 if ok == N and delta(before, after)["deadlocks"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
