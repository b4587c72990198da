"""What the benchmark watches while a run goes: Airflow's memory and the fund database's lock waits.

Memory: the sum of PSS (proportional set size, from /proc/<pid>/smaps_rollup:
shared pages counted once, split among the processes sharing them) of every
process in the Airflow components' process groups (API server, scheduler, DAG
processor, executor workers, task processes), sampled every second.
Lock waits: the fund database's lock requests not granted (pg_locks), sampled
every half second; PostgreSQL keeps no cumulative count of lock waits, so this
is what a sample can see: how many samples saw a wait and the most at once.
"""

from __future__ import annotations

import threading
from pathlib import Path


def pss_kib(pid: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def group_pss_mib(groups: set[int]) -> float:
    from fondos_dev.local_airflow import processes

    return sum(pss_kib(str(pid)) for pid, _, _, pgrp in processes() if pgrp in groups) / 1024


def tree_pss_mib(root: int) -> float:
    """PSS of a process and all its descendants: PostgreSQL's backends each get a process group of their own."""
    from fondos_dev.local_airflow import processes

    children: dict[int, list[int]] = {}
    for pid, _, ppid, _ in processes():
        children.setdefault(ppid, []).append(pid)
    seen, todo = set(), [root]
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return sum(pss_kib(str(pid)) for pid in seen) / 1024


class Sampler:
    def __init__(self, groups: set[int], db_factory=None, root: int | None = None):
        """Memory of the processes in `groups`, or (`root`) of a process and its descendants."""
        self.groups = groups
        self.root = root
        self.db_factory = db_factory
        self.peak_mib = 0.0
        self.wait_samples = 0
        self.samples = 0
        self.max_waiting = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> Sampler:
        self._threads = [threading.Thread(target=self._memory, daemon=True)]
        if self.db_factory is not None:
            self._threads.append(threading.Thread(target=self._locks, daemon=True))
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(10)

    def _memory(self) -> None:
        while not self._stop.is_set():
            mib = tree_pss_mib(self.root) if self.root is not None else group_pss_mib(self.groups)
            self.peak_mib = max(self.peak_mib, mib)
            self._stop.wait(1.0)

    def _locks(self) -> None:
        db = self.db_factory()
        try:
            while not self._stop.is_set():
                waiting = db.execute("SELECT COUNT(*) AS n FROM pg_locks l JOIN pg_database d ON d.oid = l.database "
                                     "WHERE NOT l.granted AND d.datname = current_database()")[0]["n"]
                db.commit()
                self.samples += 1
                if waiting:
                    self.wait_samples += 1
                    self.max_waiting = max(self.max_waiting, int(waiting))
                self._stop.wait(0.5)
        finally:
            db.close()
