"""The proxy hot path, written once for both front ends (the gateway's own HTTP server and
plain ASGI): it sees the client only through `ClientIO`.

Per request: split headers, check the bearer token (cached), check limits, write one request
head to a pooled keep-alive connection, stream the body both ways, and answer problem+json for
anything the gateway itself refuses or cannot do. Only body-less GET/HEAD/OPTIONS are ever sent
twice, and only when a reused connection was found closed before the upstream saw anything.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from mcm_shared.errors import ProblemError, Unauthenticated
from mcm_shared.logging import well_formed_request_id

from mcm_gateway.auth import missing_token
from mcm_gateway.deadlines import fast_request_id
from mcm_gateway.headers import RESPONSE_DROPPED, RequestHeaders, split_request_headers
from mcm_gateway.problems import encode_headers, problem_bytes
from mcm_gateway.routes import Access, Route
from mcm_gateway.upstream import Exchange, UpstreamError, UpstreamPool

if TYPE_CHECKING:
    from mcm_gateway.runtime import GatewayRuntime

logger = logging.getLogger("mcm.gateway.proxy")

_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_METHOD_BYTES = {m: m.encode() for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}


class ClientGone(Exception):
    """The client disconnected while we were still reading its request body."""


class ClientIO(Protocol):
    """The client side of one request, as the proxy needs it."""

    async def read_body(self) -> tuple[bytes, bool]:
        """The next piece of the request body and whether more follows; `ClientGone` if it left."""

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool) -> None:
        """Status, headers (lower-case names) and the first piece of the body."""

    async def send_body(self, body: bytes, more: bool) -> None: ...

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

    async def handle(self, request: Incoming, route: Route, client: ClientIO) -> int:
        """Serve one routed request; returns the status sent (for logs and tests)."""
        started = time.perf_counter()
        found = split_request_headers(request.headers)
        incoming_id = found.request_id
        rid = well_formed_request_id(incoming_id.decode("latin-1")) if incoming_id else None
        request_id = (rid or fast_request_id()).encode()
        status = 500
        try:
            status = await self._handle(request, route, client, found, request_id)
        except ProblemError as exc:
            status = exc.status
            body = problem_bytes(exc.status, type_slug=exc.type_slug, title=exc.title, detail=exc.detail, instance=request.path)
            headers = [(b"content-type", b"application/problem+json"), (b"x-request-id", request_id), *encode_headers(exc.headers)]
            await client.start_response(exc.status, headers, body, False)
        finally:
            self.runtime.metrics.observe(route.upstream, request.method, status, time.perf_counter() - started)
        return status

    async def _handle(self, request: Incoming, route: Route, client: ClientIO, found: RequestHeaders, request_id: bytes) -> int:
        runtime = self.runtime
        limits = runtime.limits
        if limits is not None:
            limits.check_request(request, found)
        client_ip, forwarded_for, via_proxy = runtime.addresses.resolve(request.peer, found.xff)
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
        pool = runtime.pools[route.upstream]
        head = _request_head(request, found, pool, request_id, client_ip, forwarded_for, via_proxy)
        has_body = found.chunked or (found.content_length is not None and found.content_length != b"0")
        method = request.method
        try:
            exchange = await _send_request(pool, head, method, has_body, found.chunked, client, limits)
        except UpstreamError as exc:
            if not (exc.retry_safe and not has_body and method in _RETRYABLE_METHODS):
                raise _as_problem(exc, pool, request_id) from None
            logger.info("resending on a fresh connection", extra={"upstream": pool.name, "request_id": request_id.decode()})
            try:
                exchange = await _send_request(pool, head, method, False, False, client, limits, fresh=True)
            except UpstreamError as retry_exc:
                raise _as_problem(retry_exc, pool, request_id) from None
        except ClientGone:
            return 499
        try:
            return await _relay_response(exchange, pool, client, request_id, rate_headers)
        except BaseException:
            exchange.abort()
            raise


def _request_head(request: Incoming, found: RequestHeaders, pool: UpstreamPool, request_id: bytes, client_ip: str, forwarded_for: bytes, via_proxy: bool) -> bytes:
    method = request.method
    target = request.raw_path + b"?" + request.query if request.query else request.raw_path
    if found.chunked:
        framing = b"transfer-encoding: chunked\r\n"
    elif found.content_length is not None:
        framing = b"content-length: " + found.content_length + b"\r\n"
    elif method in ("POST", "PUT", "PATCH"):
        framing = b"content-length: 0\r\n"
    else:
        framing = b""
    proto = found.xfp if via_proxy and found.xfp else request.scheme.encode()
    forwarded_host = found.xfh if via_proxy and found.xfh else found.host
    return b"".join(
        (
            _METHOD_BYTES.get(method) or method.encode(), b" ", target, b" HTTP/1.1\r\nhost: ", pool.host_header, b"\r\n",
            *found.forward,
            b"x-request-id: ", request_id, b"\r\nx-forwarded-for: ", forwarded_for,
            b"\r\nx-forwarded-proto: ", proto, b"\r\nx-real-ip: ", client_ip.encode("latin-1"), b"\r\n",
            (b"x-forwarded-host: " + forwarded_host + b"\r\n") if forwarded_host else b"",
            framing, b"\r\n",
        )
    )


async def _send_request(pool: UpstreamPool, head: bytes, method: str, has_body: bool, chunked: bool, client: ClientIO, limits, *, fresh: bool = False) -> Exchange:
    conn = await (pool.connect() if fresh else pool.acquire())
    exchange = conn.begin(head, head_only=method == "HEAD")
    try:
        if has_body:
            await _stream_body(exchange, chunked, client, limits)
        exchange.finish_request()
        await exchange.wait_head(pool.read_timeout)
    except BaseException:
        exchange.abort()
        raise
    return exchange


async def _stream_body(exchange: Exchange, chunked: bool, client: ClientIO, limits) -> None:
    received = 0
    while True:
        body, more = await client.read_body()
        if exchange.responded:
            return  # the upstream answered early; it does not want the rest
        if body:
            received += len(body)
            if limits is not None:
                limits.check_body_size(received)
            exchange.write(b"%x\r\n%b\r\n" % (len(body), body) if chunked else body)
            await exchange.drain()
        if not more:
            break
    if chunked:
        exchange.write(b"0\r\n\r\n")


async def _relay_response(exchange: Exchange, pool: UpstreamPool, client: ClientIO, request_id: bytes, extra_headers) -> int:
    headers = [(name, value) for name, value in exchange.headers if name not in RESPONSE_DROPPED]
    headers.append((b"x-request-id", request_id))
    if extra_headers:
        headers.extend(extra_headers)
    status = exchange.status
    data, more = exchange.take_body()
    await client.start_response(status, headers, data, more)
    try:
        while more:
            await exchange.wait_body(pool.read_timeout)
            data, more = exchange.take_body()
            await client.send_body(data, more)
    except UpstreamError as exc:
        # Too late for a problem answer: cutting the client connection is how a client learns
        # that the response was incomplete.
        logger.warning("upstream response cut short", extra={"upstream": pool.name, "error": exc.detail, "request_id": request_id.decode()})
        exchange.abort()
        client.abort()
        return exc.status
    return status


def _as_problem(exc: UpstreamError, pool: UpstreamPool, request_id: bytes) -> ProblemError:
    logger.warning("upstream failed", extra={"upstream": pool.name, "status": exc.status, "error": exc.detail, "request_id": request_id.decode()})
    return UpstreamProblem(exc)
