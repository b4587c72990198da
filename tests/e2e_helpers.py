"""Helpers of the end-to-end tests that run Airflow's real components."""

from __future__ import annotations

from fondos_dev.local_airflow import group_members


def alive(af) -> list[str]:
    """Processes (not zombies) still in any process group seen under the components: LocalExecutor workers, log
    server, Celery pool processes, task processes (each in a group of its own)."""
    return group_members(af.groups | {p.pid for p in [*af.procs.values(), *af.killed]})
