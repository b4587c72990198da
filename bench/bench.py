"""make bench: ratios measured in one run on this machine (never timed assertions).

1. DAG overhead: procesos_diarios (N funds, real work on the embedded
   PostgreSQL) against noop_procesos (same shape, no work), both triggered
   through REST on the same running Airflow (LocalExecutor), alternating,
   ROUNDS rounds each; ratio of the medians.
2. Database isolation: the same N funds processed on N connections at once vs
   one after another; throughput ratio, with the server's lock counters.

Scale with FONDOS_BENCH_FONDOS (default 50), FONDOS_BENCH_POSICIONES (default
200 for the DAG part, FONDOS_BENCH_POSICIONES_DB 2000 for the database part)
and FONDOS_BENCH_ROUNDS (default 2); FONDOS_BENCH_ONLY_DB=1 skips the DAG part
(for 200 funds x 10,000 positions, whose DAG part would be 1,000 task processes per run).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "plugins"))
sys.path.insert(0, str(ROOT / "tests"))

from fondos import airflow_env, embedded  # noqa: E402
from fondos.db import database  # noqa: E402
from fondos.demo import seed  # noqa: E402
from fondos.metrics import delta, lock_counters  # noqa: E402
from fondos.migrate import migrate  # noqa: E402

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "50"))
POS_DAG = int(os.environ.get("FONDOS_BENCH_POSICIONES", "200"))
POS_DB = int(os.environ.get("FONDOS_BENCH_POSICIONES_DB", "2000"))
ROUNDS = int(os.environ.get("FONDOS_BENCH_ROUNDS", "2"))
PARALLELISM = int(os.environ.get("FONDOS_BENCH_PARALLELISM", "8"))
WORKERS = min(N, int(os.environ.get("FONDOS_BENCH_WORKERS", "50")))  # like the Airflow pool: bounded
ONLY_DB = os.environ.get("FONDOS_BENCH_ONLY_DB", "") not in ("", "0")
FECHA = date(2026, 3, 13)


def timed_run(af, dag_id: str, conf: dict | None) -> float:
    status, body = af.trigger(dag_id, conf)
    if status != 200:
        raise SystemExit(f"could not trigger {dag_id}: {status} {body}")
    started = time.monotonic()
    state = af.wait_run(dag_id, body["dag_run_id"], timeout=3600)
    elapsed = time.monotonic() - started
    if state != "success":
        raise SystemExit(f"{dag_id} run {body['dag_run_id']} ended {state}")
    return elapsed


def close_open_procesos() -> None:
    from fondos.proceso import cerrar_procesos_en_progreso

    cerrar_procesos_en_progreso()


def main() -> int:
    pgdata = Path(tempfile.mkdtemp(prefix="fondos-bench-pg-"))
    try:
        return run(pgdata)
    finally:
        embedded.stop(pgdata)


def run(pgdata: Path) -> int:
    os.environ["AIRFLOW_CONN_FONDOS_DB"] = json.dumps(embedded.start(pgdata, keep_running=False))
    with database() as db:
        migrate(db)
    home = Path(tempfile.mkdtemp(prefix="fondos-bench-airflow-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "procesos_diarios.py").symlink_to(ROOT / "dags" / "procesos_diarios.py")
    (dags / "noop_procesos.py").symlink_to(ROOT / "bench" / "dags" / "noop_procesos.py")
    print(f"machine: {os.cpu_count()} cores; {N} funds; DAG part {POS_DAG} positions/fund, "
          f"database part {POS_DB} positions/fund; {ROUNDS} rounds; LocalExecutor parallelism {PARALLELISM}")

    # 1. DAG overhead ratio: both DAGs on the same running Airflow, triggered through REST, alternating
    if ONLY_DB:
        return database_part()
    with database() as db:
        seed(db, FECHA, N, POS_DAG)
    noop, real = [], []
    with airflow_env.LocalAirflow(home, os.environ["AIRFLOW_CONN_FONDOS_DB"], dags_folder=dags,
                                  parallelism=PARALLELISM, extra={"FONDOS_BENCH_FONDOS": str(N)}) as af:
        af.ready("noop_procesos")
        af.ready("procesos_diarios")
        for _ in range(ROUNDS):
            noop.append(timed_run(af, "noop_procesos", None))
            real.append(timed_run(af, "procesos_diarios", {"fecha": FECHA.isoformat()}))
    ratio = statistics.median(real) / statistics.median(noop)
    print(f"\n[dag] noop_procesos     {', '.join(f'{t:.1f}' for t in noop)} s  (median {statistics.median(noop):.1f})")
    print(f"[dag] procesos_diarios  {', '.join(f'{t:.1f}' for t in real)} s  (median {statistics.median(real):.1f})")
    print(f"[dag] ratio procesos_diarios / noop = {ratio:.2f}  (aim: <= 1.5)")
    return database_part()


def database_part() -> int:
    """2. database isolation: parallel vs serial, same funds."""
    from pipeline_helpers import run_all, start

    with database() as db:
        seed(db, FECHA, N, POS_DB)
    close_open_procesos()
    with database() as db:
        before = lock_counters(db)
    items = start(f"bench-parallel-{time.time()}")
    t0 = time.monotonic()
    outcomes = run_all(items, workers=WORKERS)
    parallel_s = time.monotonic() - t0
    with database() as db:
        counters = delta(before, lock_counters(db))
    close_open_procesos()
    items = start(f"bench-serial-{time.time()}")
    t0 = time.monotonic()
    run_all(items, workers=1)
    serial_s = time.monotonic() - t0
    close_open_procesos()
    ok = sum(1 for o in outcomes.values() if set(o.values()) <= {"OK", "OMITIDO"})
    rows = N * POS_DB
    print(f"\n[db] {N} funds x {POS_DB} positions ({rows} positions): parallel ({WORKERS} connections) {parallel_s:.1f} s, "
          f"serial {serial_s:.1f} s")
    print(f"[db] speed-up parallel / serial = {serial_s / parallel_s:.2f} on {os.cpu_count()} cores; "
          f"funds OK {ok}/{N}; server counters during the parallel run: {counters}")
    print(f"[db] throughput: {N / parallel_s * 3600:.0f} funds/hour parallel, {N / serial_s * 3600:.0f} serial "
          f"(plan baseline ~120/hour, goal > 300/hour)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
