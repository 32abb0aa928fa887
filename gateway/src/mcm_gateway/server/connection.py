"""One client connection to the gateway's HTTP server: llhttp (httptools) parsing, keep-alive,
pipelined requests answered in order, limits on header size and on slow or idle clients.
"""
from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from typing import TYPE_CHECKING
from urllib.parse import unquote

import httptools

from mcm_gateway.problems import problem_bytes
from mcm_gateway.proxy import Incoming
from mcm_gateway.server.cycle import RequestCycle, status_line

if TYPE_CHECKING:
    from mcm_gateway.server.serve import FrontServer

logger = logging.getLogger("mcm.gateway.server")


# How long an unread request body is drained after the answer went out.
LINGER_SECONDS = 2.0


class _Refuse(Exception):
    def __init__(self, status: int, title: str, detail: str) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail


class ClientConnection(asyncio.Protocol):
    def __init__(self, server: FrontServer) -> None:
        self.server = server
        self.loop = server.loop
        self.limits = server.limits
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.peer = "0.0.0.0"
        self.closed = False
        self.closing = False  # the server is shutting down: answer, then close
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._parsing: RequestCycle | None = None
        self._active: RequestCycle | None = None
        self._queue: deque[RequestCycle] = deque()
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiter: asyncio.Future[None] | None = None
        # When this connection times out (idle keep-alive, unfinished headers, lingering), in
        # loop time; checked by the server's sweep rather than a timer per request.
        self.deadline = math.inf
        self._lingering: RequestCycle | None = None

    # -- asyncio protocol --------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = peer[0]
        self.server.connections.add(self)
        self._set_timer(self.limits.keep_alive_seconds)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            # We speak only HTTP/1.1 here: the request is answered, then the connection ends.
            if self._parsing is not None:
                self._parsing.keep_alive = False
                self._parsing.body_complete()
            self.pause_reading()
        except httptools.HttpParserCallbackError as exc:
            refusal = exc.__context__
            if isinstance(refusal, _Refuse):
                self._refuse(refusal.status, refusal.title, refusal.detail)
            else:
                logger.exception("request parsing failed", exc_info=refusal)
                self._refuse(400, "Bad request", "The request could not be read.")
        except httptools.HttpParserError:
            self._refuse(400, "Bad request", "The request is not valid HTTP/1.1.")

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._cancel_timer()
        self.server.connections.discard(self)
        for cycle in (self._active, self._parsing, *self._queue):
            if cycle is not None:
                cycle.disconnected()
        self.resume_writing()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        waiter, self._drain_waiter = self._drain_waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- httptools callbacks -----------------------------------------------------------------
    def on_message_begin(self) -> None:
        self._url = b""
        self._headers = []
        self._header_bytes = 0
        if self._active is None:
            self._set_timer(self.limits.header_timeout_seconds)

    def on_url(self, url: bytes) -> None:
        self._url += url
        if len(self._url) > self.limits.max_url_bytes:
            raise _Refuse(414, "URI too long", "The request target is too long.")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if self._header_bytes > self.limits.max_header_bytes:
            raise _Refuse(431, "Request header fields too large", "The request headers are too large.")
        self._headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        parser = self.parser
        try:
            url = httptools.parse_url(self._url)
        except httptools.HttpParserInvalidURLError:
            raise _Refuse(400, "Bad request", "The request target is not a valid URL.") from None
        raw_path = url.path or b"/"
        request = Incoming(
            method=parser.get_method().decode("ascii"),
            path=unquote(raw_path.decode("latin-1")),
            raw_path=raw_path,
            query=url.query or b"",
            headers=self._headers,
            peer=self.peer,
            scheme="http",
        )
        expect = any(name == b"expect" and value.lower() == b"100-continue" for name, value in self._headers)
        # An Upgrade (WebSocket, h2c) is not performed: the request is answered as plain HTTP/1.1
        # and the connection closes, since what the client sends next may not be HTTP/1.1.
        keep_alive = parser.should_keep_alive() and not parser.should_upgrade()
        cycle = RequestCycle(self, request, keep_alive=keep_alive, expect_continue=expect)
        self._parsing = cycle
        if self._active is None:
            self._start(cycle)
        else:
            self._queue.append(cycle)
            self.pause_reading()  # one pipelined request waiting is enough

    def on_body(self, body: bytes) -> None:
        if self._parsing is not None:
            self._parsing.feed_body(body)

    def on_message_complete(self) -> None:
        if self._parsing is not None and self._parsing is self._lingering:
            self.close()
            return
        if self._parsing is not None:
            self._parsing.body_complete()
            self._parsing = None

    # -- request lifecycle -------------------------------------------------------------------
    def _start(self, cycle: RequestCycle) -> None:
        self._cancel_timer()
        self._active = cycle
        self.loop.create_task(self._run(cycle))

    async def _run(self, cycle: RequestCycle) -> None:
        try:
            await self.server.handle(cycle)
        except Exception:
            logger.exception("request failed", extra={"path": cycle.request.path})
            if not cycle.started and not self.closed:
                body = problem_bytes(500, type_slug="internal-error", title="Internal error", detail="Something went wrong on our side.")
                cycle.keep_alive = False
                await cycle.start_response(500, [(b"content-type", b"application/problem+json")], body, False)
        finally:
            self._finish(cycle)

    def _finish(self, cycle: RequestCycle) -> None:
        self._active = None
        if self.closed:
            return
        if not cycle.complete or self.closing:
            self.close()
            return
        if not cycle.body_done:
            # Answered before the body finished (a 413, a 401 on an upload): read and drop the
            # rest for a moment so the client sees our answer rather than a reset, then close.
            self._lingering = cycle
            self.resume_reading()
            self._set_timer(LINGER_SECONDS)
            return
        if not cycle.keep_alive:
            self.close()
            return
        if self._queue:
            self._start(self._queue.popleft())
            return
        self.resume_reading()
        if self._parsing is None:
            self._set_timer(self.limits.keep_alive_seconds)

    def _refuse(self, status: int, title: str, detail: str) -> None:
        """Answer a request we could not even read, then close (the stream is out of step)."""
        if self._active is None or not self._active.started:
            body = problem_bytes(status, type_slug=title.lower().replace(" ", "-"), title=title, detail=detail)
            self.write(
                status_line(status) + b"content-type: application/problem+json\r\ncontent-length: %d\r\n"
                b"connection: close\r\ndate: %b\r\n\r\n%b" % (len(body), self.server.date_header, body)
            )
        self.close()

    # -- I/O helpers ---------------------------------------------------------------------------
    def write(self, data: bytes) -> None:
        if not self.closed:
            self.transport.write(data)  # type: ignore[union-attr]

    async def drain(self) -> None:
        if self._write_paused and not self.closed:
            self._drain_waiter = self.loop.create_future()
            await self._drain_waiter

    def pause_reading(self) -> None:
        if not self._reading_paused and not self.closed:
            self._reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]

    def resume_reading(self) -> None:
        if self._reading_paused and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()  # type: ignore[union-attr]

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.transport.close()  # flushes what is buffered first
        self.closed = True

    def shutdown(self) -> None:
        """Server stopping: close now if idle, else after the answer in progress."""
        self.closing = True
        if self._active is None:
            self.close()

    def _set_timer(self, seconds: float) -> None:
        self.deadline = self.loop.time() + seconds

    def _cancel_timer(self) -> None:
        self.deadline = math.inf

    def timed_out(self) -> None:
        self.deadline = math.inf
        if self._active is None:
            self.close()  # idle keep-alive, or headers that never finished arriving (slowloris)
