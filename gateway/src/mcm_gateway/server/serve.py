"""The gateway's HTTP/1.1 server: asyncio protocols + llhttp, built for the proxy hot path.

uvicorn + ASGI spent about as much CPU per proxied request as the whole service behind it
(two socket writes per response, ASGI message dicts, per-header validation); this server
writes each answer in one go and hands routed requests straight to the proxy. Everything that
is not routed (health, docs, metrics, 404) still runs through the FastAPI app via a tiny ASGI
bridge. SIGTERM: readiness turns 503 at once, the listener closes, in-flight requests finish
(up to the grace period), idle connections close, then the lifespan shuts the pools down.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import time
from dataclasses import dataclass
from email.utils import formatdate

from mcm_gateway.cors import CorsClient
from mcm_gateway.main import GatewayApp, not_started_response
from mcm_gateway.proxy import ClientIO
from mcm_gateway.server.asgi_bridge import serve_asgi
from mcm_gateway.server.connection import ClientConnection
from mcm_gateway.server.cycle import RequestCycle

logger = logging.getLogger("mcm.gateway.server")
SWEEP_SECONDS = 0.25  # client timeouts fire up to this late


@dataclass(frozen=True)
class ServerLimits:
    keep_alive_seconds: float = 5.0
    header_timeout_seconds: float = 10.0
    max_header_bytes: int = 16 * 1024
    max_url_bytes: int = 8 * 1024


class FrontServer:
    def __init__(self, app: GatewayApp, limits: ServerLimits | None = None) -> None:
        self.app = app
        self.limits = limits or ServerLimits()
        self.loop = asyncio.get_running_loop()
        self.connections: set[ClientConnection] = set()
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self._server: asyncio.base_events.Server | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self._date_second = 0
        self._date = b""

    @property
    def date_header(self) -> bytes:
        now = int(time.time())
        if now != self._date_second:
            self._date_second = now
            self._date = formatdate(now, usegmt=True).encode()
        return self._date

    async def start(self, host: str, port: int) -> None:
        self._server = await self.loop.create_server(lambda: ClientConnection(self), host, port, backlog=4096, reuse_address=True)
        self.address = self._server.sockets[0].getsockname()[:2]
        self._sweep_task = self.loop.create_task(self._sweep_timeouts(), name="client-timeouts")

    async def _sweep_timeouts(self) -> None:
        """Close idle keep-alive connections and clients whose headers never finish."""
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            now = self.loop.time()
            for conn in [conn for conn in self.connections if conn.deadline <= now]:
                conn.timed_out()

    async def handle(self, cycle: RequestCycle) -> None:
        app = self.app
        request = cycle.request
        client: ClientIO = cycle
        cors = app.cors
        if cors is not None:
            origin = next((value for name, value in request.headers if name == b"origin"), None)
            if origin is not None:
                if cors.is_preflight(request.method, request.headers):
                    status, headers, body = cors.preflight(origin, request.headers)
                    await cycle.start_response(status, headers, body, False)
                    return
                client = CorsClient(cycle, cors.response_headers(origin))
        route = app.routes.resolve(request.method, request.path, request.raw_path)
        if route is None:
            await serve_asgi(app.own_app, request, client, self.address)
        elif not app.runtime.started:
            await client.start_response(*not_started_response())
        else:
            await app.proxy.handle(request, route, client)

    async def shutdown(self, grace_seconds: float) -> None:
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.shutdown()
        deadline = time.monotonic() + grace_seconds
        while self.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for conn in list(self.connections):
            conn.close()
        if self._sweep_task is not None:
            self._sweep_task.cancel()
        if self._server is not None:
            await self._server.wait_closed()


async def serve(app: GatewayApp, host: str, port: int, *, grace_seconds: float = 20.0, ready: asyncio.Event | None = None,
                stop: asyncio.Event | None = None, handle_signals: bool = True) -> None:
    """Run until SIGTERM/SIGINT (or `stop` is set). `ready` is set once the port listens."""
    fastapi = app.fastapi
    assert fastapi is not None
    stop = stop or asyncio.Event()
    async with fastapi.router.lifespan_context(fastapi):
        settings = app.settings
        server = FrontServer(app, ServerLimits(
            keep_alive_seconds=settings.keep_alive_seconds, header_timeout_seconds=settings.header_timeout_seconds,
            max_header_bytes=settings.max_header_bytes, max_url_bytes=settings.max_url_bytes,
        ))
        await server.start(host, port)
        app.server = server
        loop = asyncio.get_running_loop()
        if handle_signals:
            def on_signal() -> None:
                app.runtime.health.draining = True  # readiness answers 503 from now on
                stop.set()

            for signum in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signum, on_signal)
        logger.info("listening", extra={"host": server.address[0], "port": server.address[1]})
        if ready is not None:
            ready.set()
        try:
            await stop.wait()
            app.runtime.health.draining = True
            if settings.shutdown_delay_seconds:
                await asyncio.sleep(settings.shutdown_delay_seconds)
        finally:
            app.runtime.health.draining = True
            await server.shutdown(grace_seconds)
            if handle_signals:
                for signum in (signal.SIGTERM, signal.SIGINT):
                    loop.remove_signal_handler(signum)
