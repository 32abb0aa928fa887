"""Start the whole platform as real processes: embedded engines (unless URLs are given),
local stand-ins for email, SMS and Stripe (unless real ones are configured; see sidecars.py),
migrations, the first admin, auth, circles, payments and the gateway.

`make run` and the end-to-end tests both use `Platform`, so what the tests drive is what a
newcomer runs.
"""

from __future__ import annotations

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
    ServiceSpec("gateway", "mcm_gateway", "GATEWAY_PORT", 8000, False),
)


@dataclass
class Platform:
    data_dir: Path
    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    free_ports: bool = False  # tests pick free ports; `make run` uses 8000–8003 unless overridden
    log_dir: Path | None = None
    postgres: EmbeddedPostgres | None = None
    redis: EmbeddedRedis | None = None
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)  # the four services
    ports: dict[str, int] = field(default_factory=dict)
    sidecars: dict[str, Sidecar] = field(default_factory=dict)  # mail sink, SMS sink, Stripe stand-in

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
        self.env.setdefault("XDG_RUNTIME_DIR", "/tmp")
        self.env.setdefault("JWT_KEY_DIR", str(self.data_dir / "keys"))
        for spec in SERVICES:
            if self.free_ports:
                port = free_port()
            else:
                port = int(self.env.get(spec.port_env, spec.default_port))
            self.ports[spec.name] = port
            self.env[spec.port_env] = str(port)
        for spec in SERVICES:
            if spec.name != "gateway":
                self.env.setdefault(f"{spec.name.upper()}_URL", f"http://127.0.0.1:{self.ports[spec.name]}")
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
            log = open(self.log_dir / f"{spec.name}.log", "ab")
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
        # Generous: four services importing at once on a small, busy CI machine take a while.
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
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_engines()
        self.configure()
        self.start_sidecars()  # they start while the migrations run
        self.migrate()
        admin = self.create_admin(admin_email, admin_password)
        sidecars.wait_all(self.sidecars)
        self.start_services()
        self.wait_ready()
        return admin

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
