"""A local Airflow for this project: its home, its settings, its pool, its components.

Used by `python -m fondos_dev run` (make run), `... airflow` (make airflow), `make bench`
and the end-to-end tests. Airflow's own metadata lives in PostgreSQL: a
database of its own on the embedded server (`airflow`), or the SQLAlchemy URL
in FONDOS_AIRFLOW_DB (`sqlite` for SQLite in the home folder, LocalExecutor
only). The fund database is the `fondos_db` connection, handed to Airflow
through AIRFLOW_CONN_FONDOS_DB (the embedded PostgreSQL unless the user set
one). The executor is LocalExecutor, or CeleryExecutor with a project-run
Redis (fondos_dev.redis_local) and N named workers.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from pathlib import Path

from fondos.settings import CONN_ID, MAX_MAP_LENGTH, POOL, POOL_SLOTS
from fondos_dev import ROOT as PROJECT_ROOT

AIRFLOW_BIN = Path(sys.executable).parent / "airflow"
EXECUTORS = {"local": "LocalExecutor", "celery": "CeleryExecutor"}

def airflow_env(home: Path, fund_db: dict | str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(PROJECT_ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Airflow's components start their helpers as `airflow` from PATH
        "PATH": os.pathsep.join(filter(None, [str(AIRFLOW_BIN.parent), env.get("PATH")])),
    })
    if fund_db is not None:
        env[f"AIRFLOW_CONN_{CONN_ID.upper()}"] = fund_db if isinstance(fund_db, str) else json.dumps(fund_db)
    env.update(extra or {})
    return env


def airflow(env: dict[str, str], *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([str(AIRFLOW_BIN), *args], env=env, check=check, **kwargs)


LOCAL_SETTINGS = """# Written by fondos_dev.local_airflow: Airflow imports this in each of its processes.
import fondos.airflow.preload  # noqa: F401  (the stage tasks' modules, imported once before the workers fork)
"""


def prepare(env: dict[str, str]) -> None:
    """Airflow's metadata database migrated and the fund-database pool created (both idempotent); the
    local settings that preload the stage tasks' modules (fondos.airflow.preload) written into the home."""
    home = Path(env["AIRFLOW_HOME"])
    (home / "config").mkdir(parents=True, exist_ok=True)
    (home / "config" / "airflow_local_settings.py").write_text(LOCAL_SETTINGS)
    airflow(env, "db", "migrate", stdout=subprocess.DEVNULL)
    airflow(env, "pools", "set", POOL, str(POOL_SLOTS), "Stage tasks hitting the fund database at once",
            stdout=subprocess.DEVNULL)


# Task processes at once. A task spends most of its ~2 s in a slot waiting (its process starting, the
# execution API, the scheduler noticing it ended), not on the CPU: on 2 cores 16 slots halved the no-op
# floor against 8 (make bench; docs/benchmark.md "Performance"). 16 is also the fund pool's size (settings.POOL_SLOTS).
DEFAULT_PARALLELISM = POOL_SLOTS


def tuning(parallelism: int) -> dict[str, str]:
    """Settings of the local Airflow that let `parallelism` tasks run at once (measured by make bench)."""
    # Airflow caps one DAG's running tasks at 16 whatever the parallelism: lift it to the parallelism. And it
    # queues at most 16 ready tasks per scheduler loop (max_tis_per_query): with more slots than that, and loops of
    # seconds on a 1,000-fund day, slots sat idle; 0 queues as many as there are free slots.
    return {"AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": str(max(16, parallelism)),
            "AIRFLOW__SCHEDULER__MAX_TIS_PER_QUERY": "0"}


def processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, parent pid, process group) of every process."""
    out = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        out.append((int(proc.name), fields[0], int(fields[1]), int(fields[2])))
    return out


def tree_groups(pids: set[int]) -> set[int]:
    """The process groups of these processes and of all their descendants. Airflow 3 puts each task runner in
    a process group of its own (the supervisor signals it with killpg), so a component's group alone misses
    its tasks; read this before killing anything: orphans are re-parented and the tree is lost."""
    procs = processes()
    children: dict[int, list[int]] = {}
    group = {}
    for pid, _, ppid, pgrp in procs:
        children.setdefault(ppid, []).append(pid)
        group[pid] = pgrp
    seen, todo = set(), list(pids)
    while todo:
        pid = todo.pop()
        if pid not in seen:
            seen.add(pid)
            todo.extend(children.get(pid, []))
    return ({group[pid] for pid in seen if pid in group} | set(pids)) - {os.getpgrp()}  # never our own group


def group_members(pgids: set[int]) -> list[str]:
    """Live processes (not zombies) of these process groups, as 'pid: command'."""
    alive = []
    for pid, state, _, pgrp in processes():
        if state != "Z" and pgrp in pgids:
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:  # gone meanwhile
                continue
            alive.append(f"{pid}: {command[:80]}")
    return alive


def _wait_groups_gone(pgids: set[int], timeout: float = 20) -> None:
    """A SIGKILL lands asynchronously: wait until the killed processes have really gone."""
    import time

    deadline = time.monotonic() + timeout
    while group_members(pgids) and time.monotonic() < deadline:
        time.sleep(0.2)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the group is gone already
        os.killpg(pgid, sig)


def metadata_url(database: str = "airflow") -> str | None:
    """The SQLAlchemy URL of Airflow's metadata database; None means SQLite in AIRFLOW_HOME.

    FONDOS_AIRFLOW_DB names any PostgreSQL the user prefers (or `sqlite`);
    by default a database of its own on the embedded server, created if missing.
    """
    from fondos_dev import embedded

    chosen = os.environ.get("FONDOS_AIRFLOW_DB", "").strip()
    if chosen.lower() == "sqlite":
        return None
    if chosen:
        return chosen
    return embedded.sqlalchemy_url(embedded.create_database(database))


class LocalAirflow:
    """Airflow's real components on this machine: API server, scheduler, DAG processor (and the triggerer
    with `triggerer=True`), with LocalExecutor, or CeleryExecutor on a project-run Redis and `workers`
    named Celery workers.

    `airflow dags test` runs every task in one process through an in-process
    execution API; on this Airflow (3.3.2) it hung intermittently in
    set_rendered_map_index (a2wsgi/anyio bridge) on a 50-fund run. This is the
    production path instead, driven through the REST API.
    """

    def __init__(self, home: Path, fund_db: str, dags_folder: Path | None = None,
                 parallelism: int = DEFAULT_PARALLELISM,
                 extra: dict[str, str] | None = None, *, executor: str = "local", workers: int = 2,
                 metadata: str | None = "embedded", port: int | None = None, all_admins: bool = True,
                 triggerer: bool = False, users: dict[str, str] | None = None, host: str = "127.0.0.1",
                 broker: str | None = None, places: dict[str, list[str]] | None = None):
        """`host`: the address the API server listens on and everything reaches it by (127.0.0.1 unless the
        components run on hosts of their own). `broker`: a Celery broker already running (its URL) instead of
        the project-run Redis. `places`: a command prefix per component (`ip netns exec NAME`, say), so each
        runs where the caller put it."""
        import socket

        if executor not in EXECUTORS:
            raise ValueError(f"unknown executor {executor!r}: use one of {', '.join(EXECUTORS)}")
        if metadata == "embedded":
            metadata = metadata_url()
        if executor == "celery" and metadata is None:
            raise ValueError("the CeleryExecutor needs Airflow's metadata in PostgreSQL (its result backend and "
                             "several processes writing at once): unset FONDOS_AIRFLOW_DB=sqlite")
        if port is None:
            with socket.socket() as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
        self.port = port
        self.home = home
        self.executor = executor
        self.workers = workers if executor == "celery" else 0
        self.triggerer = triggerer
        self.base = f"http://{host}:{self.port}"
        self.places = places or {}
        self.redis = None
        self.broker = broker
        if executor == "celery" and broker is None:
            from fondos_dev.redis_local import LocalRedis

            self.redis = LocalRedis(home / "redis")
        settings = {
            "AIRFLOW__CORE__EXECUTOR": EXECUTORS[executor],
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API__PORT": str(self.port),
            # this machine only: an all-admins UI must not be reachable from the network (the default is
            # 0.0.0.0). Airflow's log server (8793) has no host setting; it answers only JWTs signed with
            # the secret below, which is new on every start.
            "AIRFLOW__API__HOST": host,
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__MAXIMUM_PAGE_LIMIT": "5000",  # one request lists a whole run's task instances
            "AIRFLOW__CORE__MAX_MAP_LENGTH": str(MAX_MAP_LENGTH),  # one mapped group per fund, past 1,024
            "AIRFLOW__API_AUTH__JWT_SECRET": os.urandom(24).hex(),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_SEC": "5",
            # manual runs only: an unpaused scheduled DAG would also get its latest scheduled run
            "FONDOS_SCHEDULE": "none",
            **tuning(parallelism),
        }
        if all_admins:
            settings["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"] = "True"
        else:  # named users (user -> role), each logging in with the password Airflow generates for it
            self.users = users or {"admin": "admin"}
            settings["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"] = ",".join(f"{u}:{r}" for u, r in self.users.items())
        if metadata:
            settings["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = metadata
        if executor == "celery":
            settings.update({
                "AIRFLOW__CELERY__BROKER_URL": broker or self.redis.url,
                "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata,
                "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(max(1, -(-parallelism // max(1, workers)))),
                "AIRFLOW__CELERY__WORKER_PREFETCH_MULTIPLIER": "1",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": "fondos.airflow.worker_host.hostname",
            })
        if dags_folder:
            settings["AIRFLOW__CORE__DAGS_FOLDER"] = str(dags_folder)
        settings.update(extra or {})
        self.env = airflow_env(home, fund_db, settings)
        self.procs: dict[str, subprocess.Popen] = {}
        self.killed: list[subprocess.Popen] = []
        self.groups: set[int] = set()  # every process group seen under a component: stop() ends them all
        self.all_admins = all_admins
        self._tokens: dict[str, str] = {}
        self.users = getattr(self, "users", {})
        # make airflow's supervision: a component that exits on its own (its metadata database went away,
        # say) is started again, as systemd or Kubernetes would; kill() and stop() are not supervised.
        self.supervised = False
        self.restarts: list[tuple[str, int]] = []  # (component, its exit code), in order
        self._commands: dict[str, tuple[list[str], dict[str, str]]] = {}

    def __enter__(self) -> LocalAirflow:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def worker_names(self) -> list[str]:
        return [f"worker{i}" for i in range(1, self.workers + 1)]

    def start(self) -> None:
        try:
            if self.redis is not None:
                self.redis.start()
            prepare(self.env)
            components = [("api-server", ["api-server", "--port", str(self.port)]),
                          ("scheduler", ["scheduler"]), ("dag-processor", ["dag-processor"])]
            if self.triggerer:
                components.append(("triggerer", ["triggerer"]))
            for name, args in components:
                self._spawn(name, args, self.env)
            for name in self.worker_names():
                self._spawn(name, ["celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs"],
                            {**self.env, "FONDOS_WORKER_HOSTNAME": name})
        except BaseException:
            self.stop()
            raise

    def add(self, name: str, args: list[str], place: list[str] | None = None, env: dict[str, str] | None = None) -> None:
        """Start one more component (a second scheduler, say), with `place` as its command prefix."""
        if place is not None:
            self.places[name] = place
        self._spawn(name, args, {**self.env, **(env or {})})

    def _spawn(self, name: str, args: list[str], env: dict[str, str], mode: str = "w") -> None:
        out = open(self.home / f"{name}.out", mode)  # noqa: SIM115 - lives as long as the process
        self._commands[name] = (args, env)
        self.procs[name] = subprocess.Popen([*self.places.get(name, []), str(AIRFLOW_BIN), *args], env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)

    def supervise(self) -> list[str]:
        """Start again every component that exited on its own (output appended to its .out); its process
        group's leftovers are ended first. Returns the names restarted."""
        import signal

        restarted = []
        for name, proc in list(self.procs.items()):
            if proc.poll() is None:
                continue
            groups = tree_groups({proc.pid}) | {proc.pid}
            for pgid in groups:
                _signal_group(pgid, signal.SIGKILL)
            self.groups |= groups
            self.restarts.append((name, proc.returncode))
            args, env = self._commands[name]
            self._spawn(name, args, env, mode="a")
            restarted.append(name)
        return restarted

    def kill(self, name: str) -> None:
        """SIGKILL one component with everything it started (a worker: its pool and its task processes, which
        run in process groups of their own), as a machine dying would; `wait_for` then ignores it."""
        import signal

        proc = self.procs.pop(name)
        groups = tree_groups({proc.pid})
        for pgid in groups:
            _signal_group(pgid, signal.SIGKILL)
        proc.wait(30)
        _wait_groups_gone(groups)
        self.groups |= groups
        self.killed.append(proc)

    def stop(self) -> None:
        """Stop every component with all its children: each runs in its own process group (the scheduler's
        LocalExecutor workers and log server outlived a plain terminate() of the scheduler)."""
        import signal
        import time

        try:
            procs = list(self.procs.values())
            groups = tree_groups({p.pid for p in procs})  # before any signal: task processes included
            self.groups |= groups
            deadline = time.monotonic() + 30
            # SIGTERM again every 5 s: Airflow's scheduler can lose one (its handler's SystemExit raised inside a
            # garbage-collector callback is swallowed: "Exception ignored in _collection_gced"), then SIGKILL.
            while time.monotonic() < deadline and any(p.poll() is None for p in procs):
                for p in procs:
                    if p.poll() is None:
                        _signal_group(p.pid, signal.SIGTERM)
                step = time.monotonic() + 5
                while time.monotonic() < min(step, deadline) and any(p.poll() is None for p in procs):
                    time.sleep(0.1)
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait(10)
            for pgid in groups:  # children that ignored SIGTERM or are still shutting down, task processes
                _signal_group(pgid, signal.SIGKILL)
            _wait_groups_gone(groups)

        finally:
            if self.redis is not None:
                self.redis.stop()

    def api(self, method: str, path: str, body: dict | None = None, user: str = "admin") -> tuple[int, dict]:
        """One REST API call, as `user` (a named user's token; in all-admins mode everyone is admin)."""
        import urllib.error
        import urllib.request

        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if not self.all_admins:
            headers["Authorization"] = f"Bearer {self.token(user)}"
        req = urllib.request.Request(f"{self.base}/api/v2{path}", data=data, method=method,  # noqa: S310 - local
                                     headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own local server
                return resp.status, json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as err:
            return err.code, json.loads(err.read() or b"{}")

    def token(self, user: str = "admin") -> str:
        """A token for one of the simple auth manager's users (its password file appears when the API server
        starts)."""
        import urllib.request

        if user not in self._tokens:
            passwords = self.home / "simple_auth_manager_passwords.json.generated"
            if not passwords.exists():
                raise ConnectionError(f"{passwords} not written yet")  # wait_for retries
            login = {"username": user}
            login["password"] = json.loads(passwords.read_text())[user]  # generated by Airflow, read, never logged
            body = json.dumps(login).encode()
            req = urllib.request.Request(f"{self.base}/auth/token", data=body, method="POST",  # noqa: S310 - local
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own local server
                self._tokens[user] = json.loads(resp.read())["access_token"]
        return self._tokens[user]

    def responder(self, dag_id: str, run_id: str, task_id: str, option: str, user: str,
                  params: dict | None = None, map_index: int = -1) -> tuple[int, dict]:
        """Answer a human-in-the-loop task (an approval) through the REST API as `user`."""
        from urllib.parse import quote

        return self.api("PATCH", f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}/"
                                 f"{map_index}/hitlDetails",
                        {"chosen_options": [option], "params_input": params or {}}, user=user)

    def await_input(self, dag_id: str, run_id: str, task_id: str, timeout: float = 300, settle: float = 12.0) -> None:
        """Wait until a human-in-the-loop task waits for its answer, and `settle` seconds more. On Airflow 3.3.2 the
        try that parks itself keeps its worker process until its supervisor's next heartbeat (5 s here, seen ending
        6.1 s after parking); an answer given before that process ends resumes the task while the scheduler still
        expects the parked try's end, which it then reads as the resumed try's ("task state changed externally"):
        the task is set up for retry and asks again. A person never answers that fast; a script must wait."""
        import time

        self.wait_for(f"{task_id} to wait for an answer",
                      lambda: self.task_state(dag_id, run_id, task_id) == "awaiting_input", timeout)
        time.sleep(settle)

    def trigger_as(self, dag_id: str, conf: dict | None, user: str, run_after: str | None = None) -> tuple[int, dict]:
        """Trigger a run as `user` (recorded as its triggering user); `run_after` (ISO, UTC) when given."""
        body = {"logical_date": None, "conf": conf or {}}
        if run_after:
            body["run_after"] = run_after
        return self.api("POST", f"/dags/{dag_id}/dagRuns", body, user=user)

    def task_state(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> str | None:
        from urllib.parse import quote

        path = f"/dags/{dag_id}/dagRuns/{quote(run_id, safe='')}/taskInstances/{task_id}"
        status, ti = self.api("GET", path + (f"/{map_index}" if map_index >= 0 else ""))
        return ti.get("state") if status == 200 else None

    def wait_for(self, what: str, predicate, timeout: float, interval: float = 1.0):
        import time
        import urllib.error

        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.supervised:
                self.supervise()
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

    def wait_run(self, dag_id: str, run_id: str, timeout: float, interval: float = 1.0) -> str:
        def finished():
            state = self.run_state(dag_id, run_id)
            return state if state in ("success", "failed") else None

        return self.wait_for(f"run {run_id} of {dag_id} to finish", finished, timeout, interval)
