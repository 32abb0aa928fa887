"""What every scenario gets: the running stack, the seeded data, tokens, a work directory."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from benchkit.baseline import InsertBaseline
from benchkit.report import NotAvailable
from benchkit.seed import SeedResult
from benchkit.stack import BenchStack
from mcm_devstack.platform import CREDENTIALS_DATABASE, MAIN_DATABASE


@dataclass
class BenchContext:
    stack: BenchStack
    work_dir: Path
    quick: bool
    pepper: str
    webhook_secret: str
    seed: SeedResult | None = None
    seed_error: str | None = None
    member_tokens: list[str] = field(default_factory=list)
    registration_tokens: dict[str, str] = field(default_factory=dict)
    token_error: str | None = None
    _openapi: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    # -- where things are ---------------------------------------------------------------------
    def url(self, service: str) -> str:
        return self.stack.url(service)

    @property
    def gateway(self) -> str:
        return self.stack.url("gateway")

    @property
    def main_dsn(self) -> str:
        return self.stack.pg_url(MAIN_DATABASE)

    @property
    def creds_dsn(self) -> str:
        return self.stack.pg_url(CREDENTIALS_DATABASE)

    async def main_db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.main_dsn)

    def cpu_meter(self) -> CpuMeter:
        return CpuMeter(self.stack)

    def scale(self, full: float, quick: float) -> float:
        return quick if self.quick else full

    def durable_insert_baseline(self, concurrency: int) -> InsertBaseline:
        """Bare single-row commits per second on the platform's PostgreSQL (benchkit.baseline)."""
        import asyncio

        from benchkit import baseline

        return asyncio.run(baseline.measure(self.main_dsn, concurrency=concurrency, seconds=self.scale(8, 4)))

    # -- preconditions --------------------------------------------------------------------------
    def require_ready(self, *services: str) -> None:
        for name in services:
            start = self.stack.starts.get(name)
            if start is None or not start.ready:
                migration = self.stack.migration_errors.get(name)
                why = start.error if start else "not started"
                raise NotAvailable(
                    f"{name} is not ready ({why})" + (f"; its migrations failed: {migration}" if migration else "")
                )

    def require_seed(self) -> SeedResult:
        if self.seed is None:
            raise NotAvailable(f"the data could not be seeded: {self.seed_error}")
        return self.seed

    def require_member_tokens(self) -> list[str]:
        if not self.member_tokens:
            raise NotAvailable(f"no signed-in member to send requests as: {self.token_error}")
        return self.member_tokens

    def openapi(self, service: str) -> dict[str, Any] | None:
        if service not in self._openapi:
            try:
                response = httpx.get(f"{self.url(service)}/openapi.json", timeout=10)
                self._openapi[service] = response.json() if response.status_code == 200 else None
            except (httpx.HTTPError, ValueError):
                self._openapi[service] = None
        return self._openapi[service]

    def require_route(self, service: str, method: str, path: str) -> None:
        """NotAvailable unless `service` publishes `method path` in its OpenAPI document."""
        document = self.openapi(service)
        if document is None:
            return  # cannot tell; the scenario's first request will
        operations = document.get("paths", {}).get(path, {})
        if method.lower() not in operations:
            raise NotAvailable(f"{service} has no {method.upper()} {path} yet")


class CpuMeter:
    """CPU time each process of the platform spent between `start()` and `stop()`, per request.

    On a shared machine, CPU time per request is disturbed far less by other work than
    requests per second are (a lesson from gateway_bench.py), so scenarios report both."""

    SHOWN = ("gateway", "auth", "circles", "payments", "postgresql", "redis")

    def __init__(self, stack: BenchStack) -> None:
        self.stack = stack
        self.before: dict[str, float] = {}
        self.used: dict[str, float] = {}
        self.idle_per_second: dict[str, float] = {}  # CPU s/s each process spends with no load
        self.seconds = 0.0

    def measure_idle(self, seconds: float) -> CpuMeter:
        """CPU the platform spends on its own with no requests (relays, consumers, pollers,
        PostgreSQL's background writers). It is a fixed cost per second, so per request it
        weighs more the lower the rate: the net figure takes it out."""
        import time

        before, started = self.stack.cpu_seconds(), time.perf_counter()
        time.sleep(seconds)
        after, elapsed = self.stack.cpu_seconds(), time.perf_counter() - started
        self.idle_per_second = {
            name: max(0.0, after[name] - before.get(name, 0.0)) / elapsed for name in after if name != "load generator"
        }
        return self

    def start(self) -> CpuMeter:
        import time

        self.before, self._started = self.stack.cpu_seconds(), time.perf_counter()
        return self

    def stop(self) -> dict[str, float]:
        import time

        after = self.stack.cpu_seconds()
        self.seconds = time.perf_counter() - self._started
        self.used = {name: max(0.0, after[name] - self.before.get(name, 0.0)) for name in after}
        return self.used

    def record(self, result: Any, requests: int, *, label: str = "request", target_ms: float | None = None) -> None:
        """Figures: platform CPU ms per request, by process and in total (load generator apart)."""
        from benchkit.report import ABSOLUTE, Target

        if requests <= 0 or not self.used:
            return
        per = {name: 1000 * seconds / requests for name, seconds in self.used.items()}
        result.details["cpu_ms_per_request"] = {name: round(value, 3) for name, value in per.items()}
        platform_total = sum(value for name, value in per.items() if name != "load generator")
        parts = ", ".join(f"{name} {per[name]:.2f}" for name in self.SHOWN if per.get(name, 0) >= 0.005)
        result.add(
            "cpu_per_request",
            f"Platform CPU time per {label} (all processes)",
            round(platform_total, 2),
            "ms",
            ABSOLUTE,
            target=Target("<=", target_ms) if target_ms is not None else None,
            note=f"{parts}; load generator {per.get('load generator', 0):.2f} ms",
        )
        if self.idle_per_second and self.seconds > 0:
            idle_ms = 1000 * sum(self.idle_per_second.values()) * self.seconds / requests
            result.details["idle_cpu_ms_per_second"] = {
                name: round(1000 * v, 2) for name, v in self.idle_per_second.items()
            }
            result.add(
                "cpu_per_request_net",
                f"Platform CPU time per {label}, net of idle background work",
                round(platform_total - idle_ms, 2),
                "ms",
                ABSOLUTE,
                note=f"the platform idles at {1000 * sum(self.idle_per_second.values()):.0f} ms CPU per second "
                f"(measured just before the load), {idle_ms:.2f} ms per {label} at this run's rate",
            )
        # The rate these CPU costs allow at most: the cores shared by everything, and one core for
        # each single-process service (PostgreSQL is many processes). An estimate, not a measurement.
        from benchkit.machine import usable_cores

        limits = {"all cores": usable_cores() * 1000 / platform_total} if platform_total > 0 else {}
        for name in ("gateway", "auth", "circles", "payments", "redis"):
            if per.get(name, 0) > 0.01:
                limits[name] = 1000 / per[name]
        if limits:
            bottleneck = min(limits, key=limits.get)
            result.add(
                "cpu_ceiling",
                "CPU-bound ceiling at that CPU cost (estimate)",
                round(limits[bottleneck]),
                "/s",
                ABSOLUTE,
                note=f"{label}s per second an otherwise idle machine could reach at most; limited by {bottleneck}",
            )
