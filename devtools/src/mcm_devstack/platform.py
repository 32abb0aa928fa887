"""Start the whole platform as real processes: embedded engines (unless URLs are given),
local stand-ins for email, SMS and Stripe (unless real ones are configured; see sidecars.py),
migrations, the first admin, auth, circles, payments, messaging and the gateway.

Start-up is a set of pipelines run side by side, not a sequence: each service starts as soon as
its own migrations are done (the gateway at once), the first admin is ensured while auth boots,
and the sidecars come up meanwhile. A service's migrations are skipped when this data directory's
embedded database was already migrated with exactly these migration scripts (a fingerprint in
`<data>/migrated.json`); the services' readiness checks that the schema is at head regardless, so
a wrong skip shows up as a service that never gets ready, never as a silent mismatch.

`make run` and the end-to-end tests both use `Platform`, so what the tests drive is what a
newcomer runs.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from mcm_devstack import sidecars
from mcm_devstack.engines import EmbeddedPostgres, EmbeddedRedis, free_port
from mcm_devstack.sidecars import Sidecar
from mcm_devstack.webbuild import WEB_DIR
from mcm_shared.migrations import locate_migrations

MAIN_DATABASE = "mcm_main"
CREDENTIALS_DATABASE = "mcm_credentials"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    module: str
    port_env: str
    default_port: int
    migrates: bool


SERVICES = (
    ServiceSpec("auth", "mcm_auth", "AUTH_PORT", 8001, True),
    ServiceSpec("circles", "mcm_circles", "CIRCLES_PORT", 8002, True),
    ServiceSpec("payments", "mcm_payments", "PAYMENTS_PORT", 8003, True),
    ServiceSpec("messaging", "mcm_messaging", "MESSAGING_PORT", 8004, True),
    ServiceSpec("gateway", "mcm_gateway", "GATEWAY_PORT", 8000, False),
)


@dataclass
class Platform:
    data_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    free_ports: bool = False  # tests pick free ports; `make run` uses 8000-8004 unless overridden
    log_dir: Path | None = None
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # the services and the gateway
    ports: dict[str, int] = field(default_factory=dict)
    sidecars: dict[str, Sidecar] = field(default_factory=dict)  # mail sink, SMS sink, Stripe stand-in
    timings: dict[str, float] = field(default_factory=dict)  # seconds per start-up phase, for the banner
    _identity: str | None = field(default=None, repr=False)  # see _database_identity

    # -- engines ----------------------------------------------------------------------------
    def start_engines(self) -> None:
        need_pg = not (self.env.get("DATABASE_URL") and self.env.get("CREDS_DATABASE_URL"))
        if need_pg:
            self.postgres = EmbeddedPostgres(self.data_dir / "postgres").start()
            for database in (MAIN_DATABASE, CREDENTIALS_DATABASE):
                self.postgres.create_database(database)
            self.env.setdefault("DATABASE_URL", self.postgres.url(MAIN_DATABASE))
            self.env.setdefault("CREDS_DATABASE_URL", self.postgres.url(CREDENTIALS_DATABASE))
        if not self.env.get("REDIS_URL"):
            self.redis = EmbeddedRedis(self.data_dir / "redis").start()
            self.env["REDIS_URL"] = self.redis.url()

    # -- configuration ----------------------------------------------------------------------
    def configure(self) -> None:
        self.env.setdefault("ENVIRONMENT", "development")
        self.env.setdefault("XDG_RUNTIME_DIR", "/tmp")  # noqa: S108  # where the tools look when unset
        self.env.setdefault("JWT_KEY_DIR", str(self.data_dir / "keys"))
        # The gateway serves the web app from here once it is built (webbuild.py, docs/web.md).
        self.env.setdefault("WEB_DIST_DIR", str(WEB_DIR / "dist"))
        for spec in SERVICES:
            port = free_port() if self.free_ports else int(self.env.get(spec.port_env, spec.default_port))
            self.ports[spec.name] = port
            self.env[spec.port_env] = str(port)
        # Every process gets them: the gateway routes to them, auth calls circles' and payments'
        # internal routes (CIRCLES_URL, PAYMENTS_URL), and AUTH_URL is where the keys are.
        for spec in SERVICES:
            if spec.name != "gateway":
                self.env.setdefault(f"{spec.name.upper()}_URL", f"http://127.0.0.1:{self.ports[spec.name]}")
        # The billing portal returns the member to the web app's payments page, on this gateway.
        self.env.setdefault("PORTAL_RETURN_URL", f"{self.url('gateway')}/payments")
        # The gateway's Prometheus port (not public): tests run several platforms at once.
        self.ports["gateway-metrics"] = self._port_for("METRICS_PORT", 9000)
        self.env["METRICS_PORT"] = str(self.ports["gateway-metrics"])

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    # -- sidecars ---------------------------------------------------------------------------
    def _port_for(self, variable: str, default: int) -> int:
        return free_port() if self.free_ports else int(self.env.get(variable, default))

    def start_sidecars(self) -> None:
        """Start the local mail sink, SMS sink and Stripe stand-in that the environment does not
        replace with real ones, and point the services' settings at them (call after configure).
        Called again, it restarts whichever of them has stopped, on the same port."""
        if not self.sidecars:
            self.sidecars = sidecars.plan(
                self.env, data_dir=self.data_dir, gateway_url=self.url("gateway"), port_for=self._port_for
            )
        sidecars.start_all(self.sidecars, self.env, self.log_dir)

    # -- commands ---------------------------------------------------------------------------
    def _command(self, module: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", module, *args], env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def migrate(self) -> None:
        running = {
            spec.name: subprocess.Popen(
                [sys.executable, "-m", spec.module, "migrate"],
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for spec in SERVICES
            if spec.migrates
        }
        for name, process in running.items():
            output, _ = process.communicate(timeout=180)
            if process.returncode != 0:
                raise RuntimeError(f"migrations of {name} failed:\n{output}")

    def create_admin(self, email: str | None, password: str | None) -> str:
        args = ["create-admin"]
        if email:
            args += ["--email", email]
        if password:
            args += ["--password", password]
        result = self._command("mcm_auth", *args)
        if result.returncode != 0:
            raise RuntimeError(f"create-admin failed:\n{result.stdout}\n{result.stderr}")
        return result.stdout.strip()

    def start_services(self) -> None:
        for spec in SERVICES:
            self.start_service(spec.name)

    def start_service(self, name: str) -> None:
        """Start (or start again, after a fault test stopped it) one service; see wait_ready."""
        spec = next(spec for spec in SERVICES if spec.name == name)
        log = None
        if self.log_dir:
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = open(self.log_dir / f"{spec.name}.log", "ab")  # noqa: SIM115  # closed below, once the child has it
        self.processes[spec.name] = subprocess.Popen(
            [sys.executable, "-m", spec.module, "serve"],
            env=self.env,
            stdout=log or None,
            stderr=subprocess.STDOUT if log else None,
            stdin=subprocess.DEVNULL,
        )
        if log:
            log.close()  # the child holds its own copy of the descriptor

    def wait_ready(self, timeout: float = 120.0) -> None:
        # Generous: five processes importing at once on a small, busy CI machine take a while.
        deadline = time.monotonic() + timeout
        pending = set(self.processes)
        with httpx.Client(timeout=1.0) as client:
            while pending and time.monotonic() < deadline:
                for name in list(pending):
                    process = self.processes[name]
                    if process.poll() is not None:
                        raise RuntimeError(f"{name} exited with {process.returncode} during start-up")
                    try:
                        if client.get(f"{self.url(name)}/api/v1/health/ready").status_code == 200:
                            pending.discard(name)
                    except httpx.HTTPError:
                        pass
                if pending:
                    time.sleep(0.1)
        if pending:
            raise TimeoutError(f"not ready after {timeout}s: {sorted(pending)}")

    def start(self, *, admin_email: str | None = None, admin_password: str | None = None) -> str:
        began = time.monotonic()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_engines()
        self.configure()
        self.timings["engines"] = time.monotonic() - began
        self.start_sidecars()  # they start while everything below runs
        admin = self._start_pipelines(admin_email, admin_password)
        sidecars.wait_all(self.sidecars)
        self.timings["total"] = time.monotonic() - began
        return admin

    # -- parallel start-up ------------------------------------------------------------------
    def _start_pipelines(self, admin_email: str | None, admin_password: str | None, timeout: float = 180.0) -> str:
        """migrate → serve for every service at once (gateway: serve), plus create-admin once
        auth's schema is there; returns when every service is ready and the admin is ensured."""
        began = time.monotonic()
        deadline = began + timeout
        migrations: dict[str, subprocess.Popen[str]] = {}
        for spec in SERVICES:
            if spec.migrates and not self._already_migrated(spec):
                migrations[spec.name] = self._spawn(spec.module, "migrate")
            else:
                self.start_service(spec.name)
        ran_migrations = bool(migrations)
        admin_process: subprocess.Popen[str] | None = None
        if "auth" not in migrations:
            admin_process = self._spawn("mcm_auth", *self._admin_args(admin_email, admin_password))
        while migrations:
            for name, process in list(migrations.items()):
                if process.poll() is None:
                    continue
                output = process.communicate()[0]
                if process.returncode != 0:
                    raise RuntimeError(f"migrations of {name} failed:\n{output}")
                del migrations[name]
                self._remember_migrated(name)
                self.start_service(name)
                if name == "auth":
                    admin_process = self._spawn("mcm_auth", *self._admin_args(admin_email, admin_password))
            if migrations:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"migrations not done after {timeout}s: {sorted(migrations)}")
                time.sleep(0.05)
        if ran_migrations:
            self.timings["migrations"] = time.monotonic() - began
        self.wait_ready(timeout=max(1.0, deadline - time.monotonic()))
        self.timings["services"] = time.monotonic() - began
        if admin_process is None:  # every branch above spawns it; this keeps mypy and readers sure
            raise RuntimeError("create-admin was never started")
        output, errors = admin_process.communicate(timeout=max(1.0, deadline - time.monotonic()))
        if admin_process.returncode != 0:
            raise RuntimeError(f"create-admin failed:\n{output}\n{errors}")
        return output.strip()

    def _spawn(self, module: str, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", module, *args],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE if args and args[0] == "create-admin" else subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )

    @staticmethod
    def _admin_args(email: str | None, password: str | None) -> list[str]:
        args = ["create-admin"]
        if email:
            args += ["--email", email]
        if password:
            args += ["--password", password]
        return args

    # -- skipping migrations that already ran -----------------------------------------------
    @property
    def _migrated_file(self) -> Path:
        return self.data_dir / "migrated.json"

    def _migrations_fingerprint(self, spec: ServiceSpec) -> str | None:
        """A hash of the service's migration scripts, found without importing the service."""
        found = importlib.util.find_spec(spec.module)
        if found is None or found.origin is None:
            return None
        folder = locate_migrations(spec.module, Path(found.origin))
        digest = hashlib.sha256()
        for script in sorted(folder.rglob("*.py")):
            digest.update(script.relative_to(folder).as_posix().encode() + b"\0" + script.read_bytes())
        return digest.hexdigest()

    def _database_identity(self) -> str:
        """The cluster and the two databases the record is about: a re-created cluster or
        database gets new identifiers, so an old record never vouches for an empty database."""
        if self._identity is None:
            if self.postgres is None:
                raise RuntimeError("only the embedded database's migrations are remembered")
            query = (
                "SELECT (SELECT system_identifier FROM pg_control_system())::text || ':' || "  # noqa: S608  # constant names below
                "coalesce(string_agg(datname || '=' || oid::text, ',' ORDER BY datname), '') "
                f"FROM pg_database WHERE datname IN ('{MAIN_DATABASE}', '{CREDENTIALS_DATABASE}')"
            )
            self._identity = self.postgres.psql(query).strip()
        return self._identity

    def _migrated(self) -> dict[str, str]:
        try:
            recorded = json.loads(self._migrated_file.read_text())
        except (OSError, ValueError):
            return {}
        if not isinstance(recorded, dict) or recorded.get("database") != self._database_identity():
            return {}
        return {str(k): str(v) for k, v in recorded.items()}

    def _already_migrated(self, spec: ServiceSpec) -> bool:
        # Only the embedded database lives and dies with data_dir; a database given by URL may
        # have been changed by anyone, so its migrations always run.
        if self.postgres is None:
            return False
        fingerprint = self._migrations_fingerprint(spec)
        return fingerprint is not None and self._migrated().get(spec.name) == fingerprint

    def _remember_migrated(self, name: str) -> None:
        if self.postgres is None:
            return
        spec = next(spec for spec in SERVICES if spec.name == name)
        fingerprint = self._migrations_fingerprint(spec)
        if fingerprint is None:
            return
        recorded = self._migrated() | {"database": self._database_identity(), name: fingerprint}
        partial = self._migrated_file.with_suffix(".tmp")
        partial.write_text(json.dumps(recorded, indent=2, sort_keys=True))
        partial.replace(self._migrated_file)  # a reader never sees half a file

    def stop_service(self, name: str, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int | None:
        process = self.processes.get(name)
        if process is None or process.poll() is not None:
            return process.returncode if process else None
        process.send_signal(sig)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()

    def stop(self) -> None:
        for name in reversed([spec.name for spec in SERVICES]):
            if name in self.processes and self.processes[name].poll() is None:
                self.processes[name].send_signal(signal.SIGTERM)
        for name in list(self.processes):
            self.stop_service(name)
        sidecars.stop_all(self.sidecars)
        if self.redis:
            self.redis.stop()
        if self.postgres:
            self.postgres.stop()
