"""The gateway's health endpoints.

Readiness covers only the gateway's own dependencies (Redis when configured) and draining: a
service that is down must not take the whole gateway out of rotation, since every other route
still works. The detailed report adds each upstream's readiness and latency, asked concurrently
with a short timeout.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from mcm_gateway.upstream.probe import probe_ready

if TYPE_CHECKING:
    from mcm_gateway.runtime import GatewayRuntime


def health_router(runtime: GatewayRuntime) -> APIRouter:
    router = APIRouter(prefix="/api/v1/health", tags=["health"])
    health = runtime.health

    @router.get("/live", summary="Liveness: the process answers (never checks dependencies)")
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/ready", summary="Readiness: the gateway's own dependencies are reachable and it is not draining")
    async def ready() -> JSONResponse:
        if health.draining:
            return JSONResponse({"status": "draining"}, status_code=503)
        results = await health.run()
        ok = all(result.ok for result in results)
        body = {"status": "ok" if ok else "unavailable", "checks": {r.name: r.as_dict() for r in results}}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("", summary="Detailed health: own dependencies, each upstream's readiness and latency, version, uptime")
    async def detailed() -> JSONResponse:
        timeout = runtime.settings.health_check_timeout_seconds
        own, upstreams = await asyncio.gather(
            health.run(),
            asyncio.gather(*(probe_ready(pool, timeout) for pool in runtime.pools.values())),
        )
        ok = all(result.ok for result in own) and not health.draining
        all_up = all(result.ok for result in upstreams)
        body = {
            "status": "draining"
            if health.draining
            else ("ok" if ok and all_up else ("degraded" if ok else "unavailable")),
            "service": health.service,
            "version": health.version,
            "uptime_seconds": round(time.monotonic() - health.started_at, 1),
            "checks": {r.name: r.as_dict() for r in own},
            "upstreams": {r.name: r.as_dict() for r in upstreams},
        }
        # 503 only when the gateway itself cannot serve; a down upstream shows as "degraded".
        return JSONResponse(body, status_code=200 if ok else 503)

    return router
