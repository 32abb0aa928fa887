"""One keep-alive HTTP/1.1 connection to an upstream, as an asyncio protocol.

The gateway's hot path is "write a request head, wait for one response, relay it". aiohttp and
httpx do much more per request than that (see docs/gateway.md for the measured difference), so
this module does only that: it writes bytes it is given and parses the answer with llhttp
(httptools). One `Exchange` per request owns the response. The proxy hands over a complete
request (head and the whole body, framed by the gateway), written at once; the connection
returns itself to its pool only when that request was written in full and the response read in
full and the upstream keeps the connection alive. Anything else closes it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Protocol

import httptools

from mcm_gateway.deadlines import Sweeper
from mcm_gateway.upstream.errors import UpstreamBroken, UpstreamError, UpstreamTimeout


class ConnectionOwner(Protocol):
    """What a connection needs of its pool (UpstreamPool), so the pool imports connections and
    never the other way round."""

    @property
    def loop(self) -> asyncio.AbstractEventLoop: ...

    @property
    def sweeper(self) -> Sweeper | None: ...

    def release(self, conn: UpstreamConnection) -> None: ...

    def forget(self, conn: UpstreamConnection) -> None: ...


# Response bytes buffered before we stop reading from the upstream (the client is slower).
READ_HIGH_WATER = 512 * 1024
READ_LOW_WATER = 128 * 1024


class Exchange:
    """One request/response on a connection, seen from the proxy."""

    __slots__ = (
        "_buffered",
        "_chunks",
        "_interim",
        "_received",
        "_timer",
        "_waiter",
        "_why",
        "complete",
        "conn",
        "deadline",
        "error",
        "framed",
        "has_length",
        "head_only",
        "headers",
        "keep_alive",
        "request_done",
        "status",
    )

    def __init__(self, conn: UpstreamConnection, head_only: bool) -> None:
        self.conn = conn
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.complete = False
        self.error: UpstreamError | None = None
        self.keep_alive = False
        self.request_done = False
        self.head_only = head_only
        self.framed = False  # Content-Length or chunked; otherwise the body ends at close
        self.has_length = False  # the answer carries a Content-Length
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._waiter: asyncio.Future[None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._interim = False
        self._received = False
        self.deadline = 0.0
        self._why = ""

    # -- the proxy's side ------------------------------------------------------------------
    def finish_request(self) -> None:
        """Kept for callers written for the streaming client (the readiness probe): `begin`
        now writes the whole request, so there is nothing left to finish."""
        self.conn.exchange_progress(self)

    async def wait_head(self, timeout: float) -> None:  # noqa: ASYNC109  # a protocol timer, not a cancel scope
        if self.status == 0 and self.error is None:
            await self._wait(timeout, "the upstream did not answer in time")
        if self.error is not None and self.status == 0:
            raise self.error

    def take_body(self) -> tuple[bytes, bool]:
        """Buffered body bytes and whether more will follow; never waits."""
        chunks = self._chunks
        if len(chunks) == 1:
            data = chunks.popleft()
        elif chunks:
            data = b"".join(chunks)
            chunks.clear()
        else:
            data = b""
        if self._buffered > READ_LOW_WATER:
            self.conn.resume_reading()
        self._buffered = 0
        if self.error is not None:
            raise self.error
        return data, not self.complete

    async def wait_body(self, timeout: float) -> None:  # noqa: ASYNC109  # a protocol timer, not a cancel scope
        if not self._chunks and not self.complete and self.error is None:
            await self._wait(timeout, "the upstream stopped sending its response")

    def abort(self) -> None:
        """The proxy gives up on this exchange (client gone, error): never reuse the connection."""
        if self.conn.exchange is self:
            self.conn.close()

    async def _wait(self, timeout: float, why: str) -> None:  # noqa: ASYNC109  # a protocol timer, not a cancel scope
        loop = self.conn.loop
        self._waiter = loop.create_future()
        sweeper = self.conn.pool.sweeper
        if sweeper is None:
            self._timer = loop.call_later(timeout, self._time_out, why)
        else:
            self.deadline = loop.time() + timeout
            self._why = why
            sweeper.watched.add(self)
        try:
            await self._waiter
        finally:
            self._waiter = None
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            elif sweeper is not None:
                sweeper.watched.discard(self)

    def expire(self) -> None:
        self._time_out(self._why)

    def _time_out(self, why: str) -> None:
        self._fail(UpstreamTimeout(why))
        self.conn.close()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if self.error is None and not self.complete:
            self.error = error
        self._wake()

    # -- httptools callbacks ---------------------------------------------------------------
    def on_header(self, name: bytes, value: bytes) -> None:
        self._received = True
        name = name.lower()
        if name == b"content-length":
            self.framed = self.has_length = True
        elif name == b"transfer-encoding":
            self.framed = True
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        status = self.conn.parser.get_status_code()  # type: ignore[union-attr]
        if status < 200:
            # 1xx interim answers (103 Early Hints) are not relayed; the real one follows.
            self._interim = True
            return
        self.status = status
        if self.head_only:
            # llhttp cannot be told the request was HEAD; the body is absent by definition.
            parser = self.conn.parser
            self.conn.parser = None
            self._complete(keep_alive=bool(parser and parser.should_keep_alive()))
            return
        self._wake()

    def on_body(self, body: bytes) -> None:
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > READ_HIGH_WATER:
            self.conn.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            self.headers = []
            self.framed = self.has_length = False
            return
        parser = self.conn.parser
        self._complete(keep_alive=bool(parser and parser.should_keep_alive()))

    def _complete(self, *, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive
        self._wake()
        self.conn.exchange_progress(self)

    def connection_lost(self) -> None:
        if self.complete:
            return
        if self.status and not self.framed and not self.head_only:
            self._complete(keep_alive=False)  # "read until close" bodies end here
            return
        self._fail(
            UpstreamBroken("the upstream closed the connection", retry_safe=not self._received and self.conn.reused)
        )


class UpstreamConnection(asyncio.Protocol):
    def __init__(self, pool: ConnectionOwner) -> None:
        self.pool = pool
        self.loop = pool.loop
        self.transport: asyncio.Transport | None = None
        self.parser: httptools.HttpResponseParser | None = None
        self.exchange: Exchange | None = None
        self.closed = False
        self.reused = False
        self.idle_since = 0.0
        self._reading_paused = False

    def begin(self, head: bytes, body: bytes = b"", *, head_only: bool = False) -> Exchange:
        """Write one whole request: `head` ends with the gateway's own framing for `body`."""
        exchange = Exchange(self, head_only)
        self.exchange = exchange
        # A fresh parser per exchange: cheap, and a HEAD answer can leave llhttp expecting a body.
        self.parser = httptools.HttpResponseParser(exchange)
        transport = self.transport
        if self.closed or transport is None or transport.is_closing():
            exchange._fail(UpstreamBroken("the upstream closed the connection", retry_safe=self.reused))
            return exchange
        if not body:
            transport.write(head)
        elif len(body) < 65536:
            transport.write(head + body)  # one segment for the usual small JSON body
        else:
            transport.write(head)
            transport.write(body)
        # Everything was handed to the transport, in order: the request is sent as far as this
        # connection is concerned (the transport flushes it or the connection dies).
        exchange.request_done = True
        return exchange

    def exchange_progress(self, exchange: Exchange) -> None:
        if exchange is not self.exchange or not exchange.complete:
            return
        self.exchange = None
        self.parser = None
        if exchange.keep_alive and exchange.request_done and not self.closed:
            # The whole response is in (buffered in the exchange), so reading may go on; a
            # connection must never return to the pool paused, or its next answer would stall.
            self.resume_reading()
            self.pool.release(self)
        else:
            self.close()

    # -- flow control ----------------------------------------------------------------------
    def pause_reading(self) -> None:
        if not self._reading_paused and self.transport is not None:
            self._reading_paused = True
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self._reading_paused and self.transport is not None and not self.closed:
            self._reading_paused = False
            self.transport.resume_reading()

    # -- asyncio protocol ------------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if parser is None:
            if self.exchange is None:
                self.close()  # an idle upstream must not talk; whatever it says is out of step
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError:
            exchange = self.exchange
            if exchange is not None:
                exchange._fail(UpstreamBroken("the upstream sent an invalid HTTP response"))
            self.close()

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.pool.forget(self)
        exchange = self.exchange
        if exchange is not None:
            exchange.connection_lost()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.close()
        self.closed = True
