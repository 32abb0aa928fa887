"""The public HTTP front end: uvicorn (httptools/llhttp parses, uvloop runs), configured for the
gateway, plus the limits uvicorn itself does not have.

uvicorn buffers a request's URL and headers without bound and has no deadline for them (its
keep-alive timer stops at the first byte), so `GatewayHttpProtocol` — uvicorn's own httptools
protocol — counts what llhttp hands to its callbacks and refuses a request whose URL or headers
grow past the limits (414/431 problem+json, connection closed), and closes a connection whose
headers are not complete `HEADER_TIMEOUT_SECONDS` after it connected or after its request began,
or that stays idle `KEEP_ALIVE_SECONDS` after an answer (one sweep for both, not a timer armed
and cancelled per request). Each response's head and body leave in one `send()`
(`CoalescedWrites`). It parses nothing itself.

WebSocket handshakes go to uvicorn's `websockets` implementation, not to "none": with no
WebSocket implementation, uvicorn serves an `Upgrade: websocket` request as plain HTTP, llhttp
skips its body, and the bytes after it are parsed as the next request on the connection. With
`websockets`, the connection is handed to the WebSocket protocol at the handshake and its bytes
are never read as HTTP again (a malformed or refused handshake is answered and the connection
closed). Other `Upgrade` values still reach the app, which refuses them and closes.
"""

from __future__ import annotations

import asyncio
import math
import signal
import sys
from typing import Any, ClassVar

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from mcm_gateway.config import Settings
from mcm_gateway.problems import problem_bytes

SWEEP_SECONDS = 0.25  # header deadlines fire up to this late
HEADER_COUNT = "mcm.header_count"  # scope extension: how many of scope["headers"] came before the body

_REFUSALS = {
    400: ("bad-request", "Bad request", "The request is not valid HTTP/1.1."),
    414: ("uri-too-long", "URI too long", "The request URL is too long."),
    431: ("headers-too-large", "Request header fields too large", "The request headers are too large."),
}


class _Refuse(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class CoalescedWrites:
    """What uvicorn's request cycle writes through: each write is held until the next one (or
    the end of this loop iteration), so a response head (`http.response.start`) and its body
    (the next ASGI message) leave in one `send()` instead of two. A system call costs more than
    everything else the gateway does per request; bytes are only joined, never interpreted."""

    __slots__ = ("held", "loop", "transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self.held
        if held is None:
            self.held = data
            self.loop.call_soon(self.flush)
        else:
            self.held = None
            self.transport.write(held + data)

    def flush(self) -> None:
        held = self.held
        if held is not None:
            self.held = None
            if not self.transport.is_closing():
                self.transport.write(held)

    def is_closing(self) -> bool:
        return self.transport.is_closing()

    def close(self) -> None:
        self.flush()
        self.transport.close()


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with size caps and a header deadline (set per server by
    `protocol_for`)."""

    max_url_bytes = 8 * 1024
    max_header_bytes = 16 * 1024
    header_timeout = 10.0
    _sweeping: ClassVar[set[GatewayHttpProtocol]] = set()  # one sweeper for every connection
    _sweeper: asyncio.Task[None] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._url_bytes = 0
        self._header_bytes = 0
        self.headers_deadline = math.inf

    # -- connection ---------------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self.writes = CoalescedWrites(transport, self.loop)
        self.headers_deadline = self.loop.time() + self.header_timeout  # the first request's headers
        cls = type(self)
        cls._sweeping.add(self)
        if cls._sweeper is None or cls._sweeper.done():
            cls._sweeper = self.loop.create_task(cls._sweep(), name="header-deadlines")

    def connection_lost(self, exc: Exception | None) -> None:
        type(self)._sweeping.discard(self)
        super().connection_lost(exc)

    def _unsupported_upgrade_warning(self) -> None:
        """uvicorn logs a warning for every Upgrade it does not take over (h2c, ...); the app
        refuses those requests itself, and a warning per request would let any client fill
        the logs."""

    def handle_websocket_upgrade(self) -> None:
        # The connection now belongs to the WebSocket protocol: no more HTTP deadlines for it.
        type(self)._sweeping.discard(self)
        super().handle_websocket_upgrade()

    @classmethod
    async def _sweep(cls) -> None:
        loop = asyncio.get_running_loop()
        while cls._sweeping:
            await asyncio.sleep(SWEEP_SECONDS)
            now = loop.time()
            for protocol in [p for p in cls._sweeping if p.headers_deadline <= now]:
                cls._sweeping.discard(protocol)
                if not protocol.transport.is_closing():
                    protocol.writes.flush()
                    protocol.transport.close()  # no answer: the client never finished asking

    # -- parser callbacks -----------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._url_bytes = 0
        self._header_bytes = 0
        self.headers_deadline = self.loop.time() + self.header_timeout

    def on_url(self, url: bytes) -> None:
        self._url_bytes += len(url)
        if self._url_bytes > self.max_url_bytes:
            raise _Refuse(414)
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        # Counted like the proxy counts them (names and values), for every path.
        self._header_bytes += len(name) + len(value)
        if self._header_bytes > self.max_header_bytes:
            raise _Refuse(431)
        # What uvicorn's on_header does, inline (this runs for every header of every request).
        name = name.lower()
        if name == b"expect" and value.lower() == b"100-continue":
            self.expect_100_continue = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.headers_deadline = math.inf  # the body has its own deadlines, in the proxy
        # llhttp hands chunked trailers to on_header too, and uvicorn appends them to this same
        # list — often before the app even runs, when the request came in one segment. Only the
        # proxy knows to stop here: it reads the first HEADER_COUNT entries and refuses the rest.
        # ASGI types every extension as a dict; this private one, read only by asgi.py, is a count.
        self.scope["extensions"] = {HEADER_COUNT: len(self.headers)}  # type: ignore[dict-item]
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not None and cycle.scope is self.scope:  # not an accepted WebSocket handshake
            cycle.transport = self.writes  # type: ignore[assignment]

    def on_response_complete(self) -> None:
        """uvicorn's, except that the keep-alive timeout is a deadline checked by the sweep
        (like the header deadline) instead of a loop timer armed and cancelled per response."""
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self.headers_deadline = self.loop.time() + self.timeout_keep_alive

    def shutdown(self) -> None:
        self.writes.flush()
        super().shutdown()

    def timeout_keep_alive_handler(self) -> None:
        self.writes.flush()
        super().timeout_keep_alive_handler()

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to anything llhttp rejects (and to our refusals, which reach it as
        callback errors): problem+json, then close."""
        status = 400
        error = _current_refusal()
        if error is not None:
            status = error.status
        self.writes.flush()  # an answer still held for an earlier request goes first
        slug, title, detail = _REFUSALS[status]
        body = problem_bytes(status, type_slug=slug, title=title, detail=detail)
        self.transport.write(
            b"".join(
                (
                    STATUS_LINE[status],
                    b"content-type: application/problem+json\r\ncontent-length: ",
                    b"%d" % len(body),
                    b"\r\nconnection: close\r\n\r\n",
                    body,
                )
            )
        )
        self.transport.close()


def _current_refusal() -> _Refuse | None:
    """The `_Refuse` behind the parser error uvicorn is handling right now, if any (httptools
    chains a callback's exception as the parser error's context)."""
    exc = sys.exc_info()[1]
    while exc is not None:
        if isinstance(exc, _Refuse):
            return exc
        exc = exc.__context__ or exc.__cause__
    return None


def protocol_for(settings: Settings) -> type[GatewayHttpProtocol]:
    return type(
        "ConfiguredGatewayHttpProtocol",
        (GatewayHttpProtocol,),
        {
            "max_url_bytes": settings.max_url_bytes,
            "max_header_bytes": settings.max_header_bytes,
            "header_timeout": settings.header_timeout_seconds,
            "_sweeping": set(),
            "_sweeper": None,
        },
    )


class GatewayServer(uvicorn.Server):
    """uvicorn's server, with the gateway's SIGTERM: readiness turns 503 at once, and the
    listener closes `SHUTDOWN_DELAY_SECONDS` later (so a load balancer stops sending first);
    uvicorn then lets requests in flight finish (up to `SHUTDOWN_GRACE_SECONDS`)."""

    def __init__(self, config: uvicorn.Config, app: Any) -> None:
        super().__init__(config)
        self.gateway = app

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.gateway.runtime.health.draining = True
        delay = self.gateway.settings.shutdown_delay_seconds
        if delay and sig == signal.SIGTERM and not self.should_exit:
            try:
                asyncio.get_running_loop().call_later(delay, super().handle_exit, sig, frame)
                return
            except RuntimeError:
                pass
        super().handle_exit(sig, frame)


def uvicorn_config(app: Any, settings: Settings, host: str, port: int, **overrides: Any) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "loop": "uvloop",
        "http": protocol_for(settings),
        "ws": "websockets",
        "lifespan": "on",
        "proxy_headers": False,  # X-Forwarded-For is judged by the gateway, from TRUSTED_PROXIES
        "server_header": False,
        "date_header": True,
        "access_log": False,
        "log_config": None,
        "timeout_keep_alive": settings.keep_alive_seconds,
        "timeout_graceful_shutdown": int(settings.shutdown_grace_seconds),
        "backlog": 4096,
        "ws_max_size": 64 * 1024,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
