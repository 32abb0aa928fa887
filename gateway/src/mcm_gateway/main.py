"""The gateway application, one ASGI callable that uvicorn runs (`python -m mcm_gateway serve`).

Two halves: routed paths (the route table) go to the proxy core (proxy.py), which no framework
touches; everything else — health, `GET /`, metrics, docs, the merged OpenAPI document and the
404 for unknown paths — is a small FastAPI app built from the shared pieces. (A FastAPI
catch-all route on the proxy path measured ~4% of direct throughput, FACTS.md.)

Before either half: CORS preflights are answered here, and any request asking to switch
protocols is refused with the connection closed (uvicorn's parser skips such a request's body
and would read it as the next request). WebSocket handshakes reach the app as `websocket`
scopes; only routes marked `websocket` in the route table may take one (`/api/v1/realtime`,
relayed by websocket_relay.py), the rest are closed before accepting (uvicorn answers 403).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mcm_gateway.asgi import AsgiClient, incoming_from_scope
from mcm_gateway.config import Settings
from mcm_gateway.cors import CorsClient, CorsPolicy, without_cors_headers
from mcm_gateway.docs_ui import docs_routes
from mcm_gateway.headers import has_upgrade
from mcm_gateway.health import health_router
from mcm_gateway.limits import UpgradeRefused
from mcm_gateway.metrics import ProxyMetrics
from mcm_gateway.metrics_server import MetricsServer
from mcm_gateway.openapi import MergedOpenAPI
from mcm_gateway.problems import problem_bytes
from mcm_gateway.proxy import Proxy
from mcm_gateway.routes import RouteTable
from mcm_gateway.runtime import GatewayRuntime
from mcm_gateway.security_headers import SecurityHeaders
from mcm_gateway.web_app import WebApp
from mcm_gateway.websocket_relay import WebSocketRelay
from mcm_shared.app import install_drain_on_sigterm
from mcm_shared.errors import install_problem_handlers
from mcm_shared.health import HealthState
from mcm_shared.logging import RequestContextMiddleware, configure_logging
from mcm_shared.metrics import Metrics, MetricsMiddleware

logger = logging.getLogger("mcm.gateway")


class GatewayApp:
    """The ASGI entry point: refusals and CORS, then proxy or own endpoints by path."""

    def __init__(self, settings: Settings, runtime: GatewayRuntime, own_app: ASGIApp) -> None:
        self.settings = settings
        self.runtime = runtime
        self.own_app = own_app
        self.fastapi: FastAPI | None = None  # the own-endpoints app, for its lifespan
        self.cors = CorsPolicy(settings.cors_origins) if settings.cors_origins else None
        self.proxy = Proxy(runtime)
        # Sockets count against the same per-client in-flight cap as proxied requests.
        self.websockets = WebSocketRelay(runtime, self.proxy.in_flight, self.proxy.max_in_flight)
        self.routes = RouteTable()
        self.web = WebApp(Path(settings.web_dist_dir)) if settings.web_dist_dir else None
        self._entry: ASGIApp = self._dispatch

    def wrap(self, middleware: Callable[[ASGIApp], ASGIApp]) -> None:
        """Put `middleware` around everything the gateway answers (proxied and its own)."""
        self._entry = middleware(self._entry)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._entry(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "websocket":
            await self._websocket(scope, receive, send)
        else:
            await self.own_app(scope, receive, send)  # lifespan

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        route = self.routes.resolve(method, scope["path"], scope.get("raw_path") or b"")
        cors = self.cors
        origin = None
        if cors is not None:
            origin = next((value for name, value in scope["headers"] if name == b"origin"), None)
        if route is not None:
            client: Any = AsgiClient(scope, receive, send)
            if origin is not None:
                if cors.is_preflight(method, scope["headers"]):  # type: ignore[union-attr]
                    status, headers, body = cors.preflight(origin, scope["headers"])  # type: ignore[union-attr]
                    client.body_done = True
                    await client.start_response(status, headers, body, False)
                    return
                client = CorsClient(client, cors.response_headers(origin))  # type: ignore[union-attr]
            if not self.runtime.started:
                client.body_done = True
                await client.start_response(*not_started_response())
                return
            await self.proxy.handle(incoming_from_scope(scope), route, client)
            return
        # The gateway's own endpoints.
        if method == "CONNECT" or has_upgrade(scope["headers"]):
            await _refuse_upgrade(scope, send)
            return
        if origin is not None:
            if cors.is_preflight(method, scope["headers"]):  # type: ignore[union-attr]
                status, headers, body = cors.preflight(origin, scope["headers"])  # type: ignore[union-attr]
                await send(
                    {
                        "type": "http.response.start",
                        "status": status,
                        "headers": [*headers, (b"content-length", b"%d" % len(body))],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
            send = _with_cors(send, cors.response_headers(origin))  # type: ignore[union-attr]
        if self.web is not None and await self.web.handle(scope, receive, send):
            return
        await self.own_app(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.routes.resolve("GET", scope["path"], scope.get("raw_path") or b"")
        if route is None or not route.websocket:
            # Closing before accepting makes uvicorn answer the handshake with 403 and close.
            await send({"type": "websocket.close", "code": 1008})
            return
        if not self.runtime.started:
            await send({"type": "websocket.close", "code": 1013})
            return
        await self.websockets.handle(scope, receive, send, route)


def _with_cors(send: Send, extra: list[tuple[bytes, bytes]]) -> Send:
    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*without_cors_headers(list(message.get("headers", []))), *extra]}
        await send(message)

    return send_with_cors


async def _refuse_upgrade(scope: Scope, send: Send) -> None:
    refusal = UpgradeRefused("This endpoint does not switch protocols.")
    body = problem_bytes(
        refusal.status, type_slug=refusal.type_slug, title=refusal.title, detail=refusal.detail, instance=scope["path"]
    )
    headers = [
        (b"content-type", b"application/problem+json"),
        (b"content-length", b"%d" % len(body)),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": refusal.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def not_started_response() -> tuple[int, list[tuple[bytes, bytes]], bytes, bool]:
    body = problem_bytes(
        503,
        type_slug="starting",
        title="Service temporarily unavailable",
        detail="The gateway is starting or stopping.",
    )
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
            runtime.pools,
            RouteTable(),
            own.openapi(),
            title="Men's Circle Management Platform API",
            version=settings.version,
            timeout=settings.health_check_timeout_seconds * 2,
        )
        logger.info(
            "started",
            extra={
                "version": settings.version,
                "upstreams": ",".join(f"{n}={u or '-'}" for n, u in settings.upstream_urls().items()),
            },
        )
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
    gateway.wrap(
        lambda app: SecurityHeaders(app, runtime.addresses, hsts_max_age_seconds=settings.hsts_max_age_seconds)
    )
    return gateway
