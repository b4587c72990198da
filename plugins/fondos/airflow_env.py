"""A local Airflow for this project: its home, its settings, its pool.

Used by `fondos run` (make run), `fondos airflow` (make airflow) and the tests.
Airflow's own metadata database is SQLite in the home folder; the fund
database is the `fondos_db` connection, handed to Airflow through
AIRFLOW_CONN_FONDOS_DB (the embedded PostgreSQL unless the user set one).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from fondos.settings import CONN_ID, POOL, POOL_SLOTS, PROJECT_ROOT

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"


def airflow_env(home: Path, fund_db: dict | str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PROJECT_ROOT / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(PROJECT_ROOT / "plugins"), env.get("PYTHONPATH")])),
        # `airflow standalone` starts its components as `airflow` from PATH
        "PATH": os.pathsep.join(filter(None, [str(AIRFLOW_BIN.parent), env.get("PATH")])),
    })
    if fund_db is not None:
        env[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = fund_db if isinstance(fund_db, str) else json.dumps(fund_db)
    env.update(extra or {})
    return env


def airflow(env: dict[str, str], *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(AIRFLOW_BIN), *args], env=env, check=check, **kwargs)


def prepare(env: dict[str, str]) -> None:
    """Airflow's metadata database migrated and the fund-database pool created (both idempotent)."""
    Path(env["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    airflow(env, "db", "migrate", stdout=subprocess.DEVNULL)
    airflow(env, "pools", "set", POOL, str(POOL_SLOTS), "Stage tasks hitting the fund database at once",
            stdout=subprocess.DEVNULL)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(pgid, sig)


class LocalAirflow:
    """Airflow's real components on this machine: API server, scheduler, DAG processor, LocalExecutor.

    `airflow dags test` runs every task in one process through an in-process
    execution API; on this Airflow (3.3.2) it hung intermittently in
    set_rendered_map_index (a2wsgi/anyio bridge) on a 50-fund run. This is the
    production path instead, driven through the REST API.
    """

    def __init__(self, home: Path, fund_db: str, dags_folder: Path | None = None, parallelism: int = 8,
                 extra: dict[str, str] | None = None):
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.home = home
        self.base = f"http://127.0.0.1:{self.port}"
        self.env = airflow_env(home, fund_db, {
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "5",
            # manual runs only: an unpaused scheduled DAG would also get its latest scheduled run
            "FONDOS_SCHEDULE": "none",
            **({"AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder)} if dags_folder else {}),
            **(extra or {}),
        })
        self.procs: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> LocalAirflow:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        prepare(self.env)
        for name, args in (("api-server", ["api-server", "--port", str(self.port)]),
                           ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])):
            out = open(self.home / f"{name}.out", "w")  # noqa: SIM115 - lives as long as the process
            self.procs[name] = subprocess.Popen([str(AIRFLOW_BIN), *args], env=self.env, stdout=out,
                                                stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        """Stop every component with all its children: each runs in its own process group (the scheduler's
        LocalExecutor workers and log server outlived a plain terminate() of the scheduler)."""
        import signal

        for p in self.procs.values():
            _signal_group(p.pid, signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        for p in self.procs.values():  # children that ignored SIGTERM or are still shutting down
            _signal_group(p.pid, signal.SIGKILL)

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/api/v2{path}", data=data, method=method,  # noqa: S310 - local
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own local server
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def wait_for(self, what: str, predicate, timeout: float, interval: float = 1.0):
        import time
        import urllib.error

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            for name, p in self.procs.items():
                if p.poll() is not None:
                    raise RuntimeError(f"airflow {name} exited with {p.returncode} while waiting for {what}\n"
                                       + self.logs())
            try:
                last = predicate()
                if last:
                    return last
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                last = exc
            time.sleep(interval)
        raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})\n" + self.logs())

    def logs(self) -> str:
        parts = []
        for f in sorted(self.home.glob("*.out")):
            parts.append(f"===== {f.name} (tail) =====\n" + "\n".join(f.read_text(errors="replace").splitlines()[-60:]))
        for f in sorted((self.home / "logs").rglob("*.log")):
            parts.append(f"===== {f.relative_to(self.home)} (tail) =====\n"
                         + "\n".join(f.read_text(errors="replace").splitlines()[-25:]))
        return "\n".join(parts)

    def ready(self, dag_id: str, timeout: float = 240) -> None:
        self.wait_for("the API server", lambda: self.api("GET", "/version")[0] == 200, timeout)
        self.wait_for(f"DAG {dag_id} to be parsed", lambda: self.api("GET", f"/dags/{dag_id}")[0] == 200, timeout)
        self.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})

    def trigger(self, dag_id: str, conf: dict | None = None) -> tuple[int, dict]:
        return self.api("POST", f"/dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf or {}})

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        status, body = self.api("GET", f"/dags/{dag_id}/dagRuns/{run_id}")
        return body.get("state") if status == 200 else None

    def wait_run(self, dag_id: str, run_id: str, timeout: float) -> str:
        def finished():
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self.wait_for(f"run {run_id} of {dag_id} to finish", finished, timeout)
