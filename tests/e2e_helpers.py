"""Helpers of the end-to-end tests that run Airflow's real components."""

from __future__ import annotations

from pathlib import Path


def alive(af) -> list[str]:
    """Processes (not zombies) still in the components' process groups: LocalExecutor workers, log server."""
    groups, alive = {p.pid for p in [*af.procs.values(), *af.killed]}, []
    for proc in Path("/proc").iterdir():
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) in groups:
            command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            alive.append(f"{proc.name}: {command[:80]}")
    return alive
