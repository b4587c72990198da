"""Live progress of a procesos_diarios run, for `make run` (python -m fondos_dev run).

It reads the run's task instances from Airflow's REST API (Airflow's own
record of what ran) and shows, per stage, the funds done, failed and total and
the time elapsed: one line that Rich keeps updating on a terminal, a plain line
every `every` seconds otherwise (CI logs, a pipe, a file).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field

from fondos.pipeline.stages import stage_order

DONE = {"success", "skipped"}
FAILED = {"failed", "upstream_failed"}


@dataclass
class Snapshot:
    """Per stage: Counters of task states over the run's mapped task instances (one per fund)."""

    stages: dict[str, Counter] = field(default_factory=dict)
    other: dict[str, str] = field(default_factory=dict)  # crear_proceso / cerrar_proceso: their state

    @classmethod
    def from_task_instances(cls, tis: list[dict]) -> Snapshot:
        snap = cls({name: Counter() for name in stage_order()})
        for ti in tis:
            task = ti["task_id"].rsplit(".", 1)[-1]
            stage = next((s for s in snap.stages if s.lower() == task.lower()), None)
            if stage is not None and ti.get("map_index", -1) >= 0:  # -1: not expanded yet
                snap.stages[stage][ti.get("state") or "none"] += 1
            elif stage is None:
                snap.other[task] = ti.get("state") or "waiting"
        return snap

    def funds(self) -> int:
        return max((sum(c.values()) for c in self.stages.values()), default=0)

    def line(self, elapsed: float) -> str:
        total = self.funds()
        if not total:
            return f"[{elapsed:5.0f}s] crear_proceso {self.other.get('crear_proceso', 'waiting')}"
        parts = []
        for stage, states in self.stages.items():
            done = sum(n for s, n in states.items() if s in DONE)
            failed = sum(n for s, n in states.items() if s in FAILED)
            running = states.get("running", 0)
            parts.append(f"{stage} {done}/{total}" + (f" ({failed} failed)" if failed else "")
                         + (f" [{running} running]" if running else ""))
        tail = "".join(f" | {task} {self.other[task]}" for task in ("cerrar_proceso", "firmar_dia", "publicar_dia")
                       if self.other.get(task))
        return f"[{elapsed:5.0f}s] " + " | ".join(parts) + tail


def task_instances(af, dag_id: str, run_id: str, page: int = 5000) -> list[dict]:
    """Every task instance of the run, page by page: a day of 1,100 funds has 5,502, more than one page
    (the API server's maximum_page_limit) holds. An answer other than 200 ends the list (shown as is)."""
    tis: list[dict] = []
    while True:
        status, body = af.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?limit={page}&offset={len(tis)}")
        got = body.get("task_instances", []) if status == 200 else []
        tis += got
        if not got or len(tis) >= body.get("total_entries", 0):
            return tis


def follow(af, dag_id: str, run_id: str, timeout: float, every: float = 10.0, console=None, on_tick=None) -> str:
    """Wait for the run to finish while showing its progress; return its final state. `on_tick()`, when given,
    runs at every poll (make run's demo answers the sign-off from there)."""
    from rich.console import Console
    from rich.live import Live

    console = console or Console()
    started = time.monotonic()

    def snapshot() -> Snapshot:
        return Snapshot.from_task_instances(task_instances(af, dag_id, run_id))

    def finished() -> str | None:
        if on_tick is not None:
            on_tick()
        state = af.run_state(dag_id, run_id)
        return state if state in ("success", "failed") else None

    if console.is_terminal:
        with Live(console=console, refresh_per_second=2, transient=False) as live:
            def tick():
                live.update(snapshot().line(time.monotonic() - started))
                return finished()

            state = af.wait_for(f"run {run_id} of {dag_id} to finish", tick, timeout, interval=1.0)
            live.update(snapshot().line(time.monotonic() - started))
        return state

    last = [0.0]

    def tick_plain():
        state = finished()
        now = time.monotonic()
        if state or now - last[0] >= every:
            last[0] = now
            console.print(snapshot().line(now - started), highlight=False, soft_wrap=True)
        return state

    return af.wait_for(f"run {run_id} of {dag_id} to finish", tick_plain, timeout, interval=1.0)
