"""make bench-api: the proceso API under load while a day runs (issue 19).

A local Airflow (LocalExecutor, metadata in the embedded PostgreSQL) runs procesos_diarios for
FONDOS_BENCH_FONDOS (30) funds x FONDOS_BENCH_POSICIONES (2,000) positions while FONDOS_BENCH_CLIENTS
(100) client threads read the proceso API as hard as they can, through the API server and Airflow's
own authentication: the list of the date's procesos and the newest proceso's detail, in turn. Each
client's requests are bounded by the run: they stop when it ends.

Printed: the run's duration and state, against the same day run just before without clients, the
stage attempts (a stage retried because of the load would show 2), the API's status counts, p50/p99
latency of the 200s and of the 503s (the pool's refusals), and the pool settings. The last line is
the summary. Nothing here is a pass/fail timing: it measures.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from fondos.db.connection import database  # noqa: E402
from fondos.db.migrate import migrate  # noqa: E402
from fondos_dev import embedded  # noqa: E402
from fondos_dev import local_airflow as airflow_env  # noqa: E402
from fondos_dev.demo import seed  # noqa: E402

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "30"))
POS = int(os.environ.get("FONDOS_BENCH_POSICIONES", "2000"))
CLIENTS = int(os.environ.get("FONDOS_BENCH_CLIENTS", "100"))
FECHA = date(2026, 3, 13)


def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


def main() -> int:
    pgdata = Path(tempfile.mkdtemp(prefix="fondos-apiload-pg-"))
    try:
        server = embedded.start(pgdata, keep_running=True)
        os.environ["AIRFLOW_CONN_FONDOS_DB"] = json.dumps(server)
        os.environ["FONDOS_PGDATA"] = str(pgdata)
        with database() as db:
            migrate(db)
            seed(db, FECHA, N, POS)
        return load()
    finally:
        embedded.stop(pgdata)


def load() -> int:
    home = Path(tempfile.mkdtemp(prefix="fondos-apiload-airflow-"))
    results: list[tuple[int, float]] = []
    lock = threading.Lock()
    stop = threading.Event()
    with airflow_env.LocalAirflow(home, os.environ["AIRFLOW_CONN_FONDOS_DB"], all_admins=False) as af:
        af.ready("procesos_diarios")
        token = af.token()
        # the same day without clients first: the load's cost on the run is the ratio of the two
        status, body = af.trigger("procesos_diarios", {"fecha": FECHA.isoformat()})
        calm_started = time.monotonic()
        calm_state = af.wait_run("procesos_diarios", body["dag_run_id"], timeout=3600, interval=1)
        calm = time.monotonic() - calm_started
        status, body = af.trigger("procesos_diarios", {"fecha": FECHA.isoformat()})
        if status != 200:
            raise SystemExit(f"could not trigger: {status} {body}")
        run_id = body["dag_run_id"]

        def client(i: int) -> None:
            detail = None
            n = 0
            while not stop.is_set():
                path = (f"/fondos/api/procesos/{detail}" if detail and n % 2
                        else f"/fondos/api/procesos?fecha={FECHA.isoformat()}&limit=5")
                n += 1
                req = urllib.request.Request(af.base + path, headers={"Authorization": f"Bearer {token}"})  # noqa: S310
                started = time.monotonic()
                try:
                    with urllib.request.urlopen(req, timeout=60) as r:  # noqa: S310 - our own local server
                        code, data = r.status, r.read()
                except urllib.error.HTTPError as e:
                    code, data = e.code, b""
                except OSError:
                    code, data = 0, b""
                with lock:
                    results.append((code, time.monotonic() - started))
                if code == 200 and detail is None and path.startswith("/fondos/api/procesos?"):
                    items = json.loads(data)
                    detail = items[0]["id_proceso"] if items else None

        threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(CLIENTS)]
        started = time.monotonic()
        for t in threads:
            t.start()
        state = af.wait_run("procesos_diarios", run_id, timeout=3600, interval=1)
        elapsed = time.monotonic() - started
        stop.set()
        for t in threads:
            t.join(70)
    with database(autocommit=True) as db:
        tries = db.execute("SELECT MAX(Intentos) AS m, SUM(CASE WHEN Intentos > 1 THEN 1 ELSE 0 END) AS retried "
                           "FROM logs.vw_Ejecucion_Etapas")[0]
        estado = db.execute("SELECT Estado FROM logs.vw_Procesos ORDER BY ID_Proceso DESC LIMIT 1")[0]["estado"]
    codes = Counter(c for c, _ in results)
    ok = [s for c, s in results if c == 200]
    busy = [s for c, s in results if c == 503]
    ms = lambda v: "-" if v is None else f"{v * 1000:.0f} ms"  # noqa: E731
    print(f"{N} funds x {POS} positions, {CLIENTS} API clients; pool {os.environ.get('FONDOS_API_POOL_SIZE', '4')}, "
          f"wait {os.environ.get('FONDOS_API_POOL_WAIT_S', '0.5')} s, statement timeout "
          f"{os.environ.get('FONDOS_API_STATEMENT_TIMEOUT_S', '5')} s")
    print(f"run without clients: {calm_state} in {calm:.1f} s; with them: {state} in {elapsed:.1f} s "
          f"({elapsed / calm:.2f}x), proceso {estado}; stage attempts: max {tries['m']}, "
          f"stages tried more than once {tries['retried']}")
    print(f"API: {len(results)} requests, {len(results) / elapsed:.0f}/s; status {dict(sorted(codes.items()))}")
    print(f"API 200: p50 {ms(_pct(ok, 0.5))}, p99 {ms(_pct(ok, 0.99))}; "
          f"503: p50 {ms(_pct(busy, 0.5))}, p99 {ms(_pct(busy, 0.99))}")
    print(f"summary: run={state} seconds={elapsed:.1f} calm_seconds={calm:.1f} slowdown={elapsed / calm:.2f} "
          f"retried_stages={tries['retried']} requests={len(results)} "
          f"ok={codes.get(200, 0)} busy503={codes.get(503, 0)} other={len(results) - codes.get(200, 0) - codes.get(503, 0)} "
          f"p50_ms={(statistics.median(ok) * 1000 if ok else 0):.0f} p99_ms={(_pct(ok, 0.99) or 0) * 1000:.0f}")
    return 0 if state == "success" and not tries["retried"] else 1


if __name__ == "__main__":
    sys.exit(main())
