"""The proxy hot path. It sees the client only through `ClientIO` (ASGI messages from uvicorn,
`asgi.py`); no code here parses a client request.

Per request: snapshot and split the headers (anything uvicorn appends later — chunked trailers —
is never looked at), refuse what the gateway will not pass on (Upgrade, two Authorization
headers, codings other than chunked, oversize), cap requests in flight per client address,
check the bearer token (cached) and rate limits, read the whole body under an idle and a total
deadline, and only then take a pooled upstream connection and write one request framed by the
gateway itself: its own `Content-Length` over the bytes it read. The answer is streamed back.
Only body-less GET/HEAD/OPTIONS are ever sent twice, and only when a reused connection was
found closed before the upstream saw anything.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mcm_gateway.auth import missing_token
from mcm_gateway.deadlines import fast_request_id_bytes
from mcm_gateway.headers import RESPONSE_DROPPED, RequestHeaders, split_request_headers
from mcm_gateway.limits import BodyTimeout, RequestLimits, TooManyInFlight, TrailersRefused
from mcm_gateway.problems import encode_headers, problem_bytes
from mcm_gateway.routes import Access, Route
from mcm_gateway.upstream import Exchange, UpstreamError, UpstreamPool
from mcm_shared.errors import ProblemError, Unauthenticated
from mcm_shared.logging import well_formed_request_id

if TYPE_CHECKING:
    from mcm_gateway.runtime import GatewayRuntime

logger = logging.getLogger("mcm.gateway.proxy")

_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_METHOD_BYTES = {m: m.encode() for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}
_LENGTH_REQUIRED = frozenset({"POST", "PUT", "PATCH"})
_PROBLEM_TYPE = (b"content-type", b"application/problem+json")
_CLOSE = (b"connection", b"close")
# An HTTP/1.0 client cannot take a chunked answer and uvicorn would send one when no length is
# known, so an unframed upstream answer is buffered for it, up to this much.
HTTP10_BUFFER_BYTES = 16 * 1024 * 1024


class ClientGone(Exception):
    """The client disconnected while we were still reading its request body."""


class ClientIO(Protocol):
    """The client side of one request, as the proxy needs it."""

    body_done: bool  # the whole request body has been read (or there is none)
    http10: bool  # the client spoke HTTP/1.0: no chunked answers

    async def read_body(self) -> tuple[bytes, bool]:
        """The next piece of the request body and whether more follows; `ClientGone` if it left."""

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool) -> None:
        """Status, headers (lower-case names) and the first piece of the body."""

    async def send_body(self, body: bytes, more: bool) -> None: ...

    async def wait_disconnect(self) -> None:
        """Returns once the client has gone (or the answer is complete)."""

    def abort(self) -> None:
        """The response cannot be completed: cut the client connection."""


@dataclass(slots=True)
class Incoming:
    method: str
    path: str  # decoded, what routing looks at
    raw_path: bytes  # as received, what the upstream gets
    query: bytes
    headers: list[tuple[bytes, bytes]]
    peer: str
    scheme: str
    header_count: int  # entries of `headers` that came before the body; later ones are trailers


class UpstreamProblem(ProblemError):
    """An `UpstreamError` as the problem the client sees (502, 503 or 504)."""

    def __init__(self, exc: UpstreamError) -> None:
        super().__init__(exc.detail, headers={"Retry-After": "1"} if exc.status == 503 else None)
        self.status = exc.status  # type: ignore[misc]
        self.type_slug = exc.type_slug  # type: ignore[misc]
        self.title = exc.title  # type: ignore[misc]


class Proxy:
    def __init__(self, runtime: GatewayRuntime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.limits = RequestLimits(
            max_body_bytes=settings.max_body_bytes,
            max_header_bytes=settings.max_header_bytes,
            max_url_bytes=settings.max_url_bytes,
            body_idle_seconds=settings.body_idle_timeout_seconds,
            body_total_seconds=settings.body_timeout_seconds,
        )
        self.max_in_flight = settings.max_in_flight_per_client
        self.in_flight: dict[str, int] = {}  # client address → proxied requests in progress

    async def handle(self, request: Incoming, route: Route, client: ClientIO) -> int:
        """Serve one routed request; returns the status sent (for logs and tests)."""
        started = time.perf_counter()
        # Only the real headers: uvicorn appends chunked trailers to this very list.
        found = split_request_headers(request.headers, request.header_count)
        # Without Content-Length or Transfer-Encoding a request has no body (llhttp agrees), so
        # there is nothing to read and no receive() round trip.
        if found.transfer_encoding is None and (found.content_length is None or found.content_length == b"0"):
            client.body_done = True
        incoming_id = found.request_id
        rid = well_formed_request_id(incoming_id.decode("latin-1")) if incoming_id else None
        request_id = rid.encode() if rid else fast_request_id_bytes()
        status = 500
        try:
            status = await self._handle(request, route, client, found, request_id)
        except ProblemError as exc:
            status = exc.status
            body = problem_bytes(
                exc.status, type_slug=exc.type_slug, title=exc.title, detail=exc.detail, instance=request.path
            )
            headers = [_PROBLEM_TYPE, (b"x-request-id", request_id), *encode_headers(exc.headers)]
            if getattr(exc, "close_connection", False):
                # What follows this request on the connection cannot be trusted (a skipped Upgrade
                # body, a slow client, ambiguous framing): the connection ends with this answer.
                # An ordinary early answer (401, 413, 429) needs no close: llhttp knows where the
                # unread body ends and uvicorn discards it.
                headers.append(_CLOSE)
            await client.start_response(exc.status, headers, body, False)
        finally:
            self.runtime.metrics.observe(route.upstream, request.method, status, time.perf_counter() - started)
        return status

    async def _handle(
        self, request: Incoming, route: Route, client: ClientIO, found: RequestHeaders, request_id: bytes
    ) -> int:
        runtime = self.runtime
        limits = self.limits
        limits.check_request(request.method, len(request.raw_path) + len(request.query), found)
        client_ip, forwarded_for, via_proxy = runtime.addresses.resolve(request.peer, found.xff)
        in_flight = self.in_flight
        count = in_flight.get(client_ip, 0)
        if count >= self.max_in_flight:
            raise TooManyInFlight(f"More than {self.max_in_flight} requests in progress from one client.")
        in_flight[client_ip] = count + 1
        try:
            return await self._forward(
                request, route, client, found, request_id, client_ip, forwarded_for, via_proxy, limits
            )
        finally:
            left = in_flight[client_ip] - 1
            if left:
                in_flight[client_ip] = left
            else:
                del in_flight[client_ip]

    async def _forward(
        self,
        request: Incoming,
        route: Route,
        client: ClientIO,
        found: RequestHeaders,
        request_id: bytes,
        client_ip: str,
        forwarded_for: bytes,
        via_proxy: bool,
        limits: RequestLimits,
    ) -> int:
        runtime = self.runtime
        limiter = runtime.rate_limiter
        principal = None
        if route.access is Access.AUTHENTICATED:
            try:
                if found.authorization is None:
                    raise missing_token()
                principal = await runtime.authenticator.authenticate(found.authorization)
            except Unauthenticated:
                if limiter is not None:
                    limiter.count_anonymous(client_ip)  # token guessing is throttled like anonymous traffic
                raise
        rate_headers = await limiter.check(route, request.path, client_ip, principal) if limiter is not None else None
        body = b""
        if not client.body_done:
            try:
                body = await _read_body(client, limits)
            except ClientGone:
                return 499
            if len(request.headers) != request.header_count:
                # Trailers: uvicorn appended them to the header list after the body. They were
                # never checked, so they are not forwarded; refusing says so to the client.
                raise TrailersRefused("Chunked request trailers are not accepted.")
        pool = runtime.pools[route.upstream]
        head = _request_head(request, found, pool, request_id, client_ip, forwarded_for, via_proxy, body)
        method = request.method
        try:
            exchange = await _send_request(pool, head, body, method)
        except UpstreamError as exc:
            if not (exc.retry_safe and not body and method in _RETRYABLE_METHODS):
                raise _as_problem(exc, pool, request_id) from None
            logger.info(
                "resending on a fresh connection", extra={"upstream": pool.name, "request_id": request_id.decode()}
            )
            try:
                exchange = await _send_request(pool, head, body, method, fresh=True)
            except UpstreamError as retry_exc:
                raise _as_problem(retry_exc, pool, request_id) from None
        try:
            return await _relay_response(exchange, pool, client, request_id, rate_headers)
        except BaseException:
            exchange.abort()
            raise


async def _read_body(client: ClientIO, limits: RequestLimits) -> bytes:
    """The whole request body, within the body deadlines and the size limit."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    total_deadline = now + limits.body_total_seconds
    idle = limits.body_idle_seconds
    parts: list[bytes] = []
    received = 0
    more = True
    while more:
        try:
            async with asyncio.timeout_at(min(loop.time() + idle, total_deadline)):
                piece, more = await client.read_body()
        except TimeoutError:
            raise BodyTimeout("The request body did not arrive in time.") from None
        if piece:
            received += len(piece)
            limits.check_body_size(received)
            parts.append(piece)
    return parts[0] if len(parts) == 1 else b"".join(parts)


def _request_head(
    request: Incoming,
    found: RequestHeaders,
    pool: UpstreamPool,
    request_id: bytes,
    client_ip: str,
    forwarded_for: bytes,
    via_proxy: bool,
    body: bytes,
) -> bytes:
    method = request.method
    target = request.raw_path + b"?" + request.query if request.query else request.raw_path
    # Framed from what was read, never from what the client declared.
    framing = b"content-length: %d\r\n" % len(body) if body or method in _LENGTH_REQUIRED else b""
    proto = found.xfp if via_proxy and found.xfp else request.scheme.encode()
    forwarded_host = found.xfh if via_proxy and found.xfh else found.host
    return b"".join(
        (
            _METHOD_BYTES.get(method) or method.encode(),
            b" ",
            target,
            b" HTTP/1.1\r\nhost: ",
            pool.host_header,
            b"\r\n",
            *found.forward,
            b"x-request-id: ",
            request_id,
            b"\r\nx-forwarded-for: ",
            forwarded_for,
            b"\r\nx-forwarded-proto: ",
            proto,
            b"\r\nx-real-ip: ",
            client_ip.encode("latin-1"),
            b"\r\n",
            (b"x-forwarded-host: " + forwarded_host + b"\r\n") if forwarded_host else b"",
            framing,
            b"\r\n",
        )
    )


async def _send_request(pool: UpstreamPool, head: bytes, body: bytes, method: str, *, fresh: bool = False) -> Exchange:
    conn = None if fresh else pool.idle_connection()
    if conn is None:
        conn = await (pool.connect() if fresh else pool.acquire())
    exchange = conn.begin(head, body, head_only=method == "HEAD")
    try:
        await exchange.wait_head(pool.read_timeout)
    except BaseException:
        exchange.abort()
        raise
    return exchange


async def _relay_response(
    exchange: Exchange,
    pool: UpstreamPool,
    client: ClientIO,
    request_id: bytes,
    extra_headers: list[tuple[bytes, bytes]] | None,
) -> int:
    headers = [(name, value) for name, value in exchange.headers if name not in RESPONSE_DROPPED]
    headers.append((b"x-request-id", request_id))
    if extra_headers:
        headers.extend(extra_headers)
    status = exchange.status
    started = False
    watcher: asyncio.Future[None] | None = None
    try:
        data, more = exchange.take_body()
        if more and client.http10 and not exchange.has_length:
            data = await _whole_body(exchange, pool, data)
            more = False
        started = True
        await client.start_response(status, headers, data, more)
        if more:
            # A streamed answer: stop reading it from the upstream (and close that connection)
            # as soon as the client hangs up, instead of relaying the rest into nothing.
            watcher = asyncio.ensure_future(client.wait_disconnect())
            watcher.add_done_callback(lambda _: exchange.abort())
            while more:
                await exchange.wait_body(pool.read_timeout)
                data, more = exchange.take_body()
                await client.send_body(data, more)
    except UpstreamError as exc:
        if not started:
            exchange.abort()
            raise _as_problem(exc, pool, request_id) from None
        if watcher is not None and watcher.done() and not watcher.cancelled():
            return 499  # the client left; we cut the upstream answer ourselves
        # Too late for a problem answer once the head went out: cutting the client connection
        # is how a client learns that the response was incomplete.
        logger.warning(
            "upstream response cut short",
            extra={"upstream": pool.name, "error": exc.detail, "request_id": request_id.decode()},
        )
        exchange.abort()
        client.abort()
        return exc.status
    finally:
        if watcher is not None:
            watcher.cancel()
    return status


async def _whole_body(exchange: Exchange, pool: UpstreamPool, first: bytes) -> bytes:
    parts = [first]
    size = len(first)
    more = True
    while more:
        await exchange.wait_body(pool.read_timeout)
        data, more = exchange.take_body()
        size += len(data)
        if size > HTTP10_BUFFER_BYTES:
            raise UpstreamError("the answer is too large to buffer for an HTTP/1.0 client")
        parts.append(data)
    return b"".join(parts)


def _as_problem(exc: UpstreamError, pool: UpstreamPool, request_id: bytes) -> ProblemError:
    logger.warning(
        "upstream failed",
        extra={"upstream": pool.name, "status": exc.status, "error": exc.detail, "request_id": request_id.decode()},
    )
    return UpstreamProblem(exc)
