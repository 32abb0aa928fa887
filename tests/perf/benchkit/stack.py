"""The platform under test: the same `Platform` as `make run` and the end-to-end tests, started
step by step so each step can be timed and a service that is not finished yet does not stop the
benchmark.

Differences from `make run`, all for measurement:
- PostgreSQL is started here first (same `EmbeddedPostgres`, so with `make run`'s durable
  settings: fsync, synchronous_commit and full_page_writes on; `--pg-setting` adds server
  settings such as a group-commit trial), restarted once with
  `pg_stat_statements` preloaded, and each service connects as its own (superuser) role, so the
  statements one service sends can be counted apart from the others.
- Services are spawned one at a time and timed from spawn to `/api/v1/health/ready` = 200.
- The sidecars (mail and SMS sinks, Stripe stand-in) start as in `make run`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from benchkit.machine import descendants, own_cpu_seconds, postmaster_pid, pss_kib, rss_kib, tree_cpu_seconds
from mcm_devstack.engines import EmbeddedPostgres
from mcm_devstack.platform import CREDENTIALS_DATABASE, MAIN_DATABASE, SERVICES, Platform

ADMIN_EMAIL = "admin@bench.example"
ADMIN_PASSWORD = "bench admin password, long enough"
# The database role each service connects as (only for counting statements per service).
SERVICE_ROLES = {"auth": "mcm_bench_auth", "circles": "mcm_bench_circles", "payments": "mcm_bench_payments"}


@dataclass
class ServiceStart:
    name: str
    pid: int | None = None
    ready: bool = False
    seconds_to_ready: float | None = None
    error: str | None = None


@dataclass
class BenchStack:
    data_dir: Path
    env_overrides: dict[str, str]
    pg_settings: dict[str, str] = field(default_factory=dict)  # extra `-c` settings (e.g. commit_delay)
    platform: Platform | None = None
    postgres: EmbeddedPostgres | None = None
    starts: dict[str, ServiceStart] = field(default_factory=dict)
    migration_errors: dict[str, str] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    admin_line: str = ""

    # -- engines -------------------------------------------------------------------------------
    def start_postgres(self) -> None:
        started = time.perf_counter()
        pg = EmbeddedPostgres(self.data_dir / "postgres", settings=self.pg_settings)
        pg.start()
        pg.psql("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'")
        pg.psql("ALTER SYSTEM SET pg_stat_statements.track_utility = on")
        pg.stop()
        pg.start()
        self.postgres = pg
        for database in (MAIN_DATABASE, CREDENTIALS_DATABASE):
            pg.create_database(database)
        pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        for role in SERVICE_ROLES.values():
            if not pg.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{role}'").strip():
                pg.psql(f"CREATE ROLE {role} LOGIN SUPERUSER")
        self.timings["postgres_start_s"] = time.perf_counter() - started

    # What the report states about the server the figures were measured on.
    REPORTED_SETTINGS = (
        "fsync",
        "synchronous_commit",
        "full_page_writes",
        "wal_sync_method",
        "commit_delay",
        "commit_siblings",
        "wal_writer_delay",
        "shared_buffers",
        "max_connections",
    )

    def postgres_settings(self) -> dict[str, str]:
        assert self.postgres is not None
        names = "','".join(self.REPORTED_SETTINGS)
        rows = self.postgres.psql(
            f"SELECT name, setting, coalesce(unit, '') FROM pg_settings WHERE name IN ('{names}')"
        )
        found = {}
        for line in rows.splitlines():
            name, setting, unit = line.split("|")
            found[name] = f"{setting}{' × ' + unit if unit and unit[0].isdigit() else unit}"
        return {name: found[name] for name in self.REPORTED_SETTINGS if name in found}

    def pg_url(self, database: str, role: str = "postgres") -> str:
        assert self.postgres is not None
        return f"postgresql://{role}@127.0.0.1:{self.postgres.port}/{database}"

    # -- configuration ---------------------------------------------------------------------------
    def service_env(self, name: str) -> dict[str, str]:
        assert self.platform is not None
        env = dict(self.platform.env)
        role = SERVICE_ROLES.get(name)
        if role:
            env["DATABASE_URL"] = self.pg_url(MAIN_DATABASE, role)
            env["CREDS_DATABASE_URL"] = self.pg_url(CREDENTIALS_DATABASE, role)
        return env

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_postgres()
        base = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "CREDS_DATABASE_URL", "REDIS_URL")}
        base.update(self.env_overrides)
        base["DATABASE_URL"] = self.pg_url(MAIN_DATABASE)
        base["CREDS_DATABASE_URL"] = self.pg_url(CREDENTIALS_DATABASE)
        self.platform = Platform(data_dir=self.data_dir, env=base, free_ports=True, log_dir=self.data_dir / "logs")
        started = time.perf_counter()
        self.platform.start_engines()  # Redis only: the database URLs are given
        self.timings["redis_start_s"] = time.perf_counter() - started
        self.platform.configure()
        # The local mail/SMS sinks and Stripe stand-in, as `make run` starts them (when this
        # version of Platform has them), so no service spends the run retrying a missing peer.
        start_sidecars = getattr(self.platform, "start_sidecars", None)
        if start_sidecars is not None:
            start_sidecars()
        self.migrate()
        started = time.perf_counter()
        try:
            self.admin_line = self.platform.create_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
        except Exception as exc:
            self.admin_line = f"create-admin failed: {str(exc)[-300:]}"
        self.timings["create_admin_s"] = time.perf_counter() - started
        if getattr(self.platform, "sidecars", None):
            from mcm_devstack import sidecars

            sidecars.wait_all(self.platform.sidecars)
        for spec in SERVICES:
            self.starts[spec.name] = self.spawn(spec.name, spec.module)

    def migrate(self) -> None:
        assert self.platform is not None
        started = time.perf_counter()
        running = {
            spec.name: subprocess.Popen(
                [sys.executable, "-m", spec.module, "migrate"],
                env=self.service_env(spec.name),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for spec in SERVICES
            if spec.migrates
        }
        for name, process in running.items():
            try:
                output, _ = process.communicate(timeout=180)
            except subprocess.TimeoutExpired:
                process.kill()
                output, _ = process.communicate()
            if process.returncode != 0:
                self.migration_errors[name] = (
                    output.strip().splitlines()[-1] if output.strip() else f"exit {process.returncode}"
                )
        self.timings["migrations_s"] = time.perf_counter() - started

    def spawn(self, name: str, module: str, timeout: float = 40.0) -> ServiceStart:
        """Start one service and time it from spawn to its first `/ready` 200."""
        assert self.platform is not None
        record = ServiceStart(name)
        log_dir = self.platform.log_dir or self.data_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        log = open(log_dir / f"{name}.log", "ab")  # noqa: SIM115 - lives as long as the process
        started = time.perf_counter()
        process = subprocess.Popen(
            [sys.executable, "-m", module, "serve"],
            env=self.service_env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.platform.processes[name] = process
        record.pid = process.pid
        url = f"{self.platform.url(name)}/api/v1/health/ready"
        last = "no answer"
        with httpx.Client(timeout=1.0) as client:
            while time.perf_counter() - started < timeout:
                if process.poll() is not None:
                    record.error = f"exited with {process.returncode} during start-up (see {log_dir / (name + '.log')})"
                    return record
                try:
                    response = client.get(url)
                    if response.status_code == 200:
                        record.ready = True
                        record.seconds_to_ready = time.perf_counter() - started
                        return record
                    last = f"/ready answered {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as exc:
                    last = type(exc).__name__
                time.sleep(0.01)
        record.error = f"not ready after {timeout:.0f}s ({last})"
        return record

    def url(self, name: str) -> str:
        assert self.platform is not None
        return self.platform.url(name)

    def ready(self, name: str) -> bool:
        start = self.starts.get(name)
        return bool(start and start.ready)

    def alive(self, name: str) -> bool:
        assert self.platform is not None
        process = self.platform.processes.get(name)
        return process is not None and process.poll() is None

    # -- memory ---------------------------------------------------------------------------------
    def memory(self) -> dict[str, dict[str, float | int | None]]:
        """VmRSS (MiB) of every process of the platform; PostgreSQL as the sum of its processes'
        PSS (shared buffers counted once) and the postmaster's own RSS."""
        assert self.platform is not None
        out: dict[str, dict[str, float | int | None]] = {}
        for name, process in self.platform.processes.items():
            if process.poll() is None:
                pids = [process.pid, *descendants(process.pid)]
                out[name] = {
                    "pid": process.pid,
                    "processes": len(pids),
                    "rss_mib": _mib(sum(rss_kib(p) or 0 for p in pids)),
                }
        if self.platform.redis and self.platform.redis.process:
            pid = self.platform.redis.process.pid
            out["redis"] = {"pid": pid, "processes": 1, "rss_mib": _mib(rss_kib(pid) or 0)}
        if self.postgres:
            pid = postmaster_pid(self.postgres.data_dir)
            if pid:
                pids = [pid, *descendants(pid)]
                out["postgresql"] = {
                    "pid": pid,
                    "processes": len(pids),
                    "rss_mib": _mib(rss_kib(pid) or 0),
                    "pss_total_mib": _mib(sum(pss_kib(p) or 0 for p in pids)),
                }
        return out

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds used so far by each part of the platform, and by this process (the load
        generator, with the wrk runs it has finished)."""
        assert self.platform is not None
        out = {name: tree_cpu_seconds(p.pid) for name, p in self.platform.processes.items() if p.poll() is None}
        if self.platform.redis and self.platform.redis.process:
            out["redis"] = tree_cpu_seconds(self.platform.redis.process.pid)
        if self.postgres and (pid := postmaster_pid(self.postgres.data_dir)):
            out["postgresql"] = tree_cpu_seconds(pid)
        out["load generator"] = own_cpu_seconds(os.getpid())
        return out

    def cpu_roots(self) -> list[int]:
        """Process ids whose trees are "ours": this process (services, Redis, wrk, nginx are its
        children) and the PostgreSQL postmaster (daemonised by pg_ctl)."""
        roots = [os.getpid()]
        if self.postgres:
            pid = postmaster_pid(self.postgres.data_dir)
            if pid:
                roots.append(pid)
        return roots

    # -- shutdown -------------------------------------------------------------------------------
    def stop(self) -> None:
        if self.platform is not None:
            try:
                self.platform.stop()  # services (SIGTERM, by PID), then Redis; Postgres is ours
            except Exception as exc:
                print(f"stopping the platform: {exc}", file=sys.stderr)
        if self.postgres is not None:
            self.postgres.stop()


def _mib(kib: int) -> float:
    return round(kib / 1024, 1)
