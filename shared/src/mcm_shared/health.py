"""Health endpoints: live (the process answers), ready (dependencies reachable, migrations at
head, not draining) and a detailed report. Each dependency check runs with its own timeout, so
a hung database makes readiness answer 503 quickly instead of hanging the probe.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

CheckFn = Callable[[], Awaitable[Any]]


@dataclass
class HealthCheck:
    name: str
    probe: CheckFn
    timeout: float = 2.0


@dataclass
class CheckResult:
    name: str
    ok: bool
    latency_ms: float
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"status": "ok" if self.ok else "down", "latency_ms": round(self.latency_ms, 2)}
        if self.error:
            body["error"] = self.error
        return body


@dataclass
class HealthState:
    """Per-app health: registered checks and the draining flag set on SIGTERM."""

    service: str
    version: str
    checks: list[HealthCheck] = field(default_factory=list)
    started_at: float = field(default_factory=time.monotonic)
    draining: bool = False

    def add(self, name: str, probe: CheckFn, timeout: float = 2.0) -> None:
        self.checks.append(HealthCheck(name, probe, timeout))

    async def run(self) -> list[CheckResult]:
        return list(await asyncio.gather(*(_run_check(check) for check in self.checks)))


async def _run_check(check: HealthCheck) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check.probe(), timeout=check.timeout)
    except TimeoutError:
        return CheckResult(
            check.name, False, (time.perf_counter() - started) * 1000, f"timed out after {check.timeout}s"
        )
    except Exception as exc:  # a failing dependency is a report, not a crash
        return CheckResult(check.name, False, (time.perf_counter() - started) * 1000, type(exc).__name__)
    return CheckResult(check.name, True, (time.perf_counter() - started) * 1000)


def health_router(state_of: Callable[[Request], HealthState]) -> APIRouter:
    router = APIRouter(prefix="/api/v1/health", tags=["health"])

    @router.get("/live", summary="Liveness: the process answers (never checks dependencies)")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="Readiness: dependencies reachable and migrations at head")
    async def ready(request: Request) -> JSONResponse:
        state = state_of(request)
        if state.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        results = await state.run()
        ok = all(result.ok for result in results)
        body = {"status": "ok" if ok else "unavailable", "checks": {r.name: r.as_dict() for r in results}}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("", summary="Detailed health: each dependency's status and latency, version, uptime")
    async def detailed(request: Request) -> JSONResponse:
        state = state_of(request)
        results = await state.run()
        ok = all(result.ok for result in results) and not state.draining
        body = {
            "status": "draining" if state.draining else ("ok" if ok else "degraded"),
            "service": state.service,
            "version": state.version,
            "uptime_seconds": round(time.monotonic() - state.started_at, 1),
            "checks": {r.name: r.as_dict() for r in results},
        }
        return JSONResponse(body, status_code=200 if ok else 503)

    return router
