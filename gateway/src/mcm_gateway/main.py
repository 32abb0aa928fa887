"""The gateway application.

Two halves: routed paths (the route table) go to the proxy core (proxy.py), which no framework
touches; everything else — health, `GET /`, metrics, docs, the merged OpenAPI document and the
404 for unknown paths — is a small FastAPI app built from the shared pieces. (A FastAPI
catch-all route on the proxy path measured ~4% of direct throughput, FACTS.md.)

`create_app()` returns both behind one ASGI callable, so any ASGI server can run it; production
runs it on the gateway's own HTTP server (`mcm_gateway.server`), which calls the proxy core
directly and uses the FastAPI half only for the gateway's own endpoints.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from mcm_shared.app import install_drain_on_sigterm
from mcm_shared.errors import install_problem_handlers
from mcm_shared.health import HealthState
from mcm_shared.logging import RequestContextMiddleware, configure_logging
from mcm_shared.metrics import Metrics, MetricsMiddleware
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from mcm_gateway.asgi import AsgiClient, incoming_from_scope
from mcm_gateway.config import Settings
from mcm_gateway.cors import ALLOW_HEADERS, ALLOW_METHODS, EXPOSE_HEADERS, CorsPolicy
from mcm_gateway.docs_ui import docs_routes
from mcm_gateway.health import health_router
from mcm_gateway.metrics import ProxyMetrics
from mcm_gateway.metrics_server import MetricsServer
from mcm_gateway.openapi import MergedOpenAPI
from mcm_gateway.problems import problem_bytes
from mcm_gateway.proxy import Proxy
from mcm_gateway.routes import RouteTable
from mcm_gateway.runtime import GatewayRuntime
from mcm_gateway.security_headers import SecurityHeaders

logger = logging.getLogger("mcm.gateway")


class GatewayApp:
    """The ASGI entry point: CORS, then proxy or own endpoints by path. Under the gateway's own
    server only `own_app`, `proxy`, `routes`, `cors` and `runtime` are used."""

    def __init__(self, settings: Settings, runtime: GatewayRuntime, own_app: ASGIApp) -> None:
        self.settings = settings
        self.runtime = runtime
        self.own_app = own_app
        self.fastapi: FastAPI | None = None  # the own-endpoints app, for its lifespan
        self.server: Any = None  # the FrontServer, when running under `mcm_gateway.server`
        self.cors = CorsPolicy(settings.cors_origins) if settings.cors_origins else None
        self.proxy = Proxy(runtime)
        self.routes = RouteTable()
        entry: ASGIApp = self._dispatch
        if settings.cors_origins:
            entry = CORSMiddleware(
                entry,
                allow_origins=settings.cors_origins,
                allow_methods=list(ALLOW_METHODS),
                allow_headers=list(ALLOW_HEADERS),
                expose_headers=list(EXPOSE_HEADERS),
                max_age=600,
            )
        self._entry = entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self.routes.resolve(scope["method"], scope["path"], scope.get("raw_path") or b"")
            if route is not None:
                client = AsgiClient(receive, send)
                if not self.runtime.started:
                    await client.start_response(*not_started_response())
                    return
                await self.proxy.handle(incoming_from_scope(scope), route, client)
                return
        await self.own_app(scope, receive, send)


def not_started_response() -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    body = problem_bytes(503, type_slug="starting", title="Service temporarily unavailable", detail="The gateway is starting or stopping.")
    return 503, [(b"content-type", b"application/problem+json"), (b"retry-after", b"1")], body, False


def create_app(settings: Settings | None = None) -> GatewayApp:
    settings = settings or Settings()
    settings.check_production_ready()
    configure_logging(settings.service_name, settings.log_level)
    metrics = Metrics(settings.service_name)
    health = HealthState(service=settings.service_name, version=settings.version)
    runtime = GatewayRuntime(settings, ProxyMetrics(metrics.registry), health)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_drain_on_sigterm(health)
        await runtime.start()
        runtime.openapi = MergedOpenAPI(
            runtime.pools, RouteTable(), own.openapi(), title="Men's Circle Management Platform API", version=settings.version,
            timeout=settings.health_check_timeout_seconds * 2,
        )
        logger.info("started", extra={"version": settings.version, "upstreams": ",".join(f"{n}={u or '-'}" for n, u in settings.upstream_urls().items())})
        if settings.metrics_port:
            runtime.metrics_server = MetricsServer(metrics.registry, settings.host, settings.metrics_port)
            if not runtime.metrics_server.start():
                runtime.metrics_server = None
        try:
            yield
        finally:
            health.draining = True
            logger.info("stopping")
            await runtime.stop()
            if runtime.metrics_server is not None:
                await asyncio.to_thread(runtime.metrics_server.stop)
                runtime.metrics_server = None

    docs = settings.docs_enabled
    own = FastAPI(
        title="Men's Circle Management Platform — gateway",
        version=settings.version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # /openapi.json is the merged document, below
    )
    own.state.settings = settings
    own.state.health = health
    own.state.metrics = metrics
    own.state.runtime = runtime
    install_problem_handlers(own)
    own.include_router(health_router(runtime))

    @own.get("/", tags=["meta"], summary="Service name and version")
    async def root() -> dict[str, str]:
        return {"name": settings.service_name, "version": settings.version}

    # No /metrics here: they are served on METRICS_PORT (metrics_server.py), not the public port.

    @own.get("/openapi.json", include_in_schema=False)
    async def openapi_document() -> JSONResponse:
        return JSONResponse(await runtime.openapi.document())

    if docs:
        own.router.routes.extend(docs_routes())  # Swagger UI from local files (docs_ui.py)
    wrapped = RequestContextMiddleware(MetricsMiddleware(own, metrics))
    gateway = GatewayApp(settings, runtime, wrapped)
    gateway.fastapi = own
    # Around everything the gateway answers (proxied, own, 404s, problems, CORS preflights).
    gateway._entry = SecurityHeaders(gateway._entry, runtime.addresses, hsts_max_age_seconds=settings.hsts_max_age_seconds)
    return gateway
