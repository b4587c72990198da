"""Helpers of the end-to-end tests that run Airflow's real components."""

from __future__ import annotations

from fondos.airflow_env import group_members


def alive(af) -> list[str]:
    """Processes (not zombies) still in the components' process groups: LocalExecutor workers, log server,
    Celery pool processes."""
    return group_members({p.pid for p in [*af.procs.values(), *af.killed]})
