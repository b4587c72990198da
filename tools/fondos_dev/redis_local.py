"""A Redis server for the local CeleryExecutor: Debian's `redis-server`, run by the project.

Like the embedded PostgreSQL it is nothing system-wide: its own directory,
a Unix socket inside it (no TCP port), no persistence, started and stopped by
the command that needs it (`make run EXECUTOR=celery`, `make airflow
EXECUTOR=celery`, the Celery tests). On a machine without `redis-server`,
`make setup` installs it from Debian when run as root; otherwise the message
says what to install.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path


class RedisMissing(RuntimeError):
    pass


def redis_binary() -> str:
    found = os.environ.get("FONDOS_REDIS_SERVER") or shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None)
    if not found:
        raise RedisMissing("redis-server is not installed, and the CeleryExecutor needs it as its broker: "
                           "install Debian's redis-server (apt-get install redis-server), or set "
                           "FONDOS_REDIS_SERVER to its path, or run with EXECUTOR=local")
    return found


class LocalRedis:
    """redis-server on a Unix socket in `directory`; `url` is the Celery broker URL for it."""

    def __init__(self, directory: Path):
        self.dir = directory
        # A Unix socket path is limited to 107 bytes; fall back to a short one beside the temp dir.
        sock = directory / "redis.sock"
        self.socket = sock if len(str(sock)) < 100 else Path(f"/tmp/fondos-redis-{os.getpid()}-{id(self)}.sock")  # noqa: S108
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis+socket://{self.socket}"

    def start(self, timeout: float = 20) -> LocalRedis:
        self.dir.mkdir(parents=True, exist_ok=True)
        args = [redis_binary(), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
                "--dir", str(self.dir), "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--logfile", str(self.dir / "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.proc.poll() is not None:
                log = (self.dir / "redis.log").read_text(errors="replace")[-2000:] if (self.dir / "redis.log").exists() else ""
                raise RuntimeError(f"redis-server exited with {self.proc.returncode}:\n{log}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(f"redis-server did not answer on {self.socket} within {timeout:.0f}s")
            time.sleep(0.1)
        return self

    def _answers(self) -> bool:
        import socket

        if not self.socket.exists():
            return False
        with socket.socket(socket.AF_UNIX) as s:
            try:
                s.settimeout(1)
                s.connect(str(self.socket))
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
            except OSError:
                return False

    def stop(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()

    def __enter__(self) -> LocalRedis:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
