"""The common FastAPI application shape: problem handlers, request context, JSON logs, metrics,
health, `GET /`, docs only outside production, and SIGTERM draining.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from mcm_shared.errors import install_problem_handlers
from mcm_shared.health import HealthState, health_router
from mcm_shared.logging import RequestContextMiddleware, configure_logging
from mcm_shared.metrics import Metrics, MetricsMiddleware
from mcm_shared.openapi import install_openapi
from mcm_shared.settings import BaseServiceSettings

logger = logging.getLogger("mcm.app")

Lifespan = Callable[[FastAPI], Any]


def install_drain_on_sigterm(state: HealthState) -> None:
    """Turn readiness to 503 the moment SIGTERM arrives, then let uvicorn drain as usual.

    uvicorn installs its own handlers before the lifespan starts; we wrap them so its graceful
    shutdown (stop accepting, finish in-flight requests, run lifespan shutdown) still happens.
    """
    for signum in (signal.SIGTERM, signal.SIGINT):
        previous = signal.getsignal(signum)

        def handler(received: int, frame: Any, previous: Any = previous) -> None:
            state.draining = True
            if callable(previous):
                previous(received, frame)
            elif previous == signal.SIG_DFL:
                raise SystemExit(0)

        try:
            signal.signal(signum, handler)
        except ValueError:  # not the main thread (e.g. in-process test clients)
            return


def create_service_app(
    settings: BaseServiceSettings,
    *,
    title: str,
    description: str,
    routers: Sequence[APIRouter] = (),
    lifespan_hooks: Sequence[Callable[[FastAPI, AsyncExitStack], Awaitable[None]]] = (),
) -> FastAPI:
    """Build a service app. Each lifespan hook may register cleanup on the exit stack."""
    settings.check_production_ready()
    configure_logging(settings.service_name, settings.log_level)
    health = HealthState(service=settings.service_name, version=settings.version)
    metrics = Metrics(settings.service_name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_drain_on_sigterm(health)
        async with AsyncExitStack() as stack:
            for hook in lifespan_hooks:
                await hook(app, stack)
            logger.info("started", extra={"version": settings.version})
            yield
            health.draining = True
            logger.info("stopping")

    docs = settings.docs_enabled
    app = FastAPI(
        title=title,
        description=description,
        version=settings.version,
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json",
        # FastAPI's built-in OpenTelemetry hooks look for providers on every request (~5 % of a
        # busy service's CPU); the platform reports through its own metrics and JSON logs.
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.health = health
    app.state.metrics = metrics

    install_problem_handlers(app)
    install_openapi(app)
    app.include_router(health_router(lambda request: request.app.state.health))
    for router in routers:
        app.include_router(router)

    @app.get("/", tags=["meta"], summary="Service name and version")
    async def root() -> dict[str, str]:
        return {"name": settings.service_name, "version": settings.version}

    app.add_route("/metrics", metrics.endpoint, include_in_schema=False)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(RequestContextMiddleware)
    return app


async def wait_closed(tasks: Sequence[asyncio.Task[Any]], timeout: float = 10.0) -> None:  # noqa: ASYNC109  # a bound on the wait, not a caller-side deadline
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=timeout)
