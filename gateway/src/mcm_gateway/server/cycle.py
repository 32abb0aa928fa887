"""One request on a client connection, as the proxy sees it (`ClientIO`): its body as it
arrives, and a response written straight to the socket — head and first body piece in one
write, `Content-Length` when the size is known, chunked otherwise.
"""
from __future__ import annotations

import asyncio
from collections import deque
from http import HTTPStatus
from typing import TYPE_CHECKING

from mcm_gateway.proxy import ClientGone, Incoming

if TYPE_CHECKING:
    from mcm_gateway.server.connection import ClientConnection

_STATUS_LINES = {status.value: b"HTTP/1.1 %d %s\r\n" % (status.value, status.phrase.encode()) for status in HTTPStatus}
_NO_BODY_STATUSES = frozenset({204, 304})
BODY_HIGH_WATER = 256 * 1024  # request bytes buffered before we stop reading from the client


def status_line(status: int) -> bytes:
    return _STATUS_LINES.get(status) or b"HTTP/1.1 %d Unknown\r\n" % status


class RequestCycle:
    __slots__ = (
        "conn", "request", "keep_alive", "expect_continue", "head_only", "started", "complete",
        "chunked", "status", "_chunks", "_buffered", "_body_done", "_waiter", "_continued", "_paused",
    )

    def __init__(self, conn: ClientConnection, request: Incoming, *, keep_alive: bool, expect_continue: bool) -> None:
        self.conn = conn
        self.request = request
        self.keep_alive = keep_alive
        self.expect_continue = expect_continue
        self.head_only = request.method == "HEAD"
        self.started = False
        self.complete = False
        self.chunked = False
        self.status = 0
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._body_done = False
        self._waiter: asyncio.Future[None] | None = None
        self._continued = False
        self._paused = False  # we paused the client's socket because our buffer was full

    # -- fed by the connection's parser --------------------------------------------------------
    def feed_body(self, body: bytes) -> None:
        if self.complete:
            return  # the answer went out already; the rest of the body is of no use
        self._chunks.append(body)
        self._buffered += len(body)
        if self._buffered > BODY_HIGH_WATER and not self._paused:
            self._paused = True
            self.conn.pause_reading()
        self._wake()

    def body_complete(self) -> None:
        self._body_done = True
        self._wake()

    def disconnected(self) -> None:
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # -- ClientIO --------------------------------------------------------------------------------
    async def read_body(self) -> tuple[bytes, bool]:
        if self.expect_continue and not self._continued and not self.started:
            self._continued = True
            self.conn.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        while not self._chunks and not self._body_done:
            if self.conn.closed:
                raise ClientGone()
            self._waiter = self.conn.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        chunks = self._chunks
        data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
        chunks.clear()
        self._buffered = 0
        if self._paused:
            self._paused = False
            self.conn.resume_reading()
        return data, not self._body_done

    @property
    def body_done(self) -> bool:
        return self._body_done

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool) -> None:
        self.started = True
        self.status = status
        parts = [status_line(status)]
        has_length = False
        for name, value in headers:
            if name == b"content-length":
                has_length = True
            parts += (name, b": ", value, b"\r\n")
        no_body = status in _NO_BODY_STATUSES or status < 200
        if not has_length and not no_body:
            if more:
                self.chunked = not self.head_only
                if self.chunked:
                    parts.append(b"transfer-encoding: chunked\r\n")
            elif not self.head_only:
                parts += (b"content-length: ", str(len(body)).encode(), b"\r\n")
        if not self._body_done:
            # Answering before the request body is in (a 413, a 401 on an upload): the rest is
            # drained briefly and the connection dropped, so say so — the client must not send
            # its next request on it.
            self.keep_alive = False
        if not self.keep_alive or self.conn.closing:
            self.keep_alive = False
            parts.append(b"connection: close\r\n")
        parts += (b"date: ", self.conn.server.date_header, b"\r\n\r\n")
        if body and not self.head_only and not no_body:
            parts.append(b"%x\r\n%b\r\n" % (len(body), body) if self.chunked else body)
        if not more:
            if self.chunked:
                parts.append(b"0\r\n\r\n")
            self.complete = True
        self.conn.write(b"".join(parts))
        await self.conn.drain()

    async def send_body(self, body: bytes, more: bool) -> None:
        if self.complete:
            return
        if not self.head_only:
            if self.chunked:
                if body:
                    self.conn.write(b"%x\r\n%b\r\n" % (len(body), body))
                if not more:
                    self.conn.write(b"0\r\n\r\n")
            elif body:
                self.conn.write(body)
        if not more:
            self.complete = True
        await self.conn.drain()

    def abort(self) -> None:
        self.keep_alive = False
        self.conn.close()
