"""The proxy hot path: a plain ASGI handler, no framework, for every routed request.

Per request: split headers, check the bearer token (cached), check limits, write one request
head to a pooled keep-alive connection, stream the body both ways, and answer problem+json for
anything the gateway itself refuses or cannot do. Only body-less GET/HEAD/OPTIONS are ever sent
twice, and only when a reused connection was found closed before the upstream saw anything.
"""
from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from starlette.types import Receive, Scope, Send

from mcm_gateway.auth import missing_token
from mcm_gateway.headers import RESPONSE_DROPPED, split_request_headers
from mcm_gateway.problems import encode_headers, send_problem
from mcm_gateway.routes import Access, Route
from mcm_gateway.upstream import Exchange, UpstreamError, UpstreamPool
from mcm_shared.errors import ProblemError
from mcm_shared.logging import new_request_id, well_formed_request_id

if TYPE_CHECKING:
    from mcm_gateway.runtime import GatewayRuntime

logger = logging.getLogger("mcm.gateway.proxy")

_RETRYABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_METHOD_BYTES = {m: m.encode() for m in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")}


class ClientGone(Exception):
    """The client disconnected while we were still reading its request body."""


class Proxy:
    def __init__(self, runtime: GatewayRuntime) -> None:
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        runtime = self.runtime
        started = time.perf_counter()
        found = split_request_headers(scope["headers"])
        incoming_id = found.request_id
        rid = well_formed_request_id(incoming_id.decode("latin-1")) if incoming_id else None
        request_id = (rid or new_request_id()).encode()
        status = 500
        try:
            status = await self._handle(scope, receive, send, route, found, request_id)
        except ProblemError as exc:
            status = exc.status
            await send_problem(
                send, exc.status, type_slug=exc.type_slug, title=exc.title, detail=exc.detail,
                instance=scope["path"], request_id=request_id, headers=encode_headers(exc.headers),
            )
        finally:
            runtime.metrics.observe(route.upstream, scope["method"], status, time.perf_counter() - started)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, route: Route, found, request_id: bytes) -> int:
        runtime = self.runtime
        limits = runtime.limits
        if limits is not None:
            limits.check_request(found)
        principal = None
        if route.access is Access.AUTHENTICATED:
            if found.authorization is None:
                raise missing_token()
            principal = await runtime.authenticator.authenticate(found.authorization)
        peer = scope["client"][0] if scope.get("client") else "0.0.0.0"
        client_ip, forwarded_for, via_proxy = runtime.addresses.resolve(peer, found.xff)
        limiter = runtime.rate_limiter
        rate_headers = None
        if limiter is not None:
            rate_headers = await limiter.check(route, client_ip, principal)
        pool = runtime.pools[route.upstream]
        head = self._request_head(scope, found, pool, request_id, client_ip, forwarded_for, via_proxy)
        has_body = found.chunked or (found.content_length is not None and found.content_length != b"0")
        method = scope["method"]
        try:
            exchange = await self._send_request(pool, head, method, has_body, found.chunked, receive, limits)
        except UpstreamError as exc:
            if not (exc.retry_safe and not has_body and method in _RETRYABLE_METHODS):
                raise _as_problem(exc, pool) from None
            logger.info("resending on a fresh connection", extra={"upstream": pool.name, "request_id": request_id.decode()})
            try:
                exchange = await self._send_request(pool, head, method, False, False, receive, limits, fresh=True)
            except UpstreamError as retry_exc:
                raise _as_problem(retry_exc, pool) from None
        except ClientGone:
            return 499
        try:
            return await self._relay_response(exchange, pool, send, request_id, rate_headers)
        except BaseException:
            exchange.abort()
            raise

    def _request_head(self, scope: Scope, found, pool: UpstreamPool, request_id: bytes, client_ip: str, forwarded_for: bytes, via_proxy: bool) -> bytes:
        method = scope["method"]
        target = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string")
        if query:
            target = target + b"?" + query
        if found.chunked:
            framing = b"transfer-encoding: chunked\r\n"
        elif found.content_length is not None:
            framing = b"content-length: " + found.content_length + b"\r\n"
        elif method in ("POST", "PUT", "PATCH"):
            framing = b"content-length: 0\r\n"
        else:
            framing = b""
        proto = found.xfp if via_proxy and found.xfp else scope.get("scheme", "http").encode()
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

    async def _send_request(self, pool: UpstreamPool, head: bytes, method: str, has_body: bool, chunked: bool, receive: Receive, limits, *, fresh: bool = False) -> Exchange:
        conn = await (pool.connect() if fresh else pool.acquire())
        exchange = conn.begin(head, head_only=method == "HEAD")
        try:
            if has_body:
                await self._stream_body(exchange, chunked, receive, limits)
            exchange.finish_request()
            await exchange.wait_head(pool.read_timeout)
        except BaseException:
            exchange.abort()
            raise
        return exchange

    async def _stream_body(self, exchange: Exchange, chunked: bool, receive: Receive, limits) -> None:
        received = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                raise ClientGone()
            body = message.get("body", b"")
            more = message.get("more_body", False)
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

    async def _relay_response(self, exchange: Exchange, pool: UpstreamPool, send: Send, request_id: bytes, extra_headers) -> int:
        headers = [(name, value) for name, value in exchange.headers if name not in RESPONSE_DROPPED]
        headers.append((b"x-request-id", request_id))
        if extra_headers:
            headers.extend(extra_headers)
        status = exchange.status
        data, more = exchange.take_body()
        await send({"type": "http.response.start", "status": status, "headers": headers})
        timeout = pool.read_timeout
        try:
            while more:
                if data:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                await exchange.wait_body(timeout)
                data, more = exchange.take_body()
        except UpstreamError as exc:
            # Too late for a problem answer: returning without finishing makes the server close
            # the client connection, which is how a client learns the response was cut short.
            logger.warning("upstream response cut short", extra={"upstream": pool.name, "error": exc.detail, "request_id": request_id.decode()})
            exchange.abort()
            return exc.status
        await send({"type": "http.response.body", "body": data, "more_body": False})
        return status


class UpstreamProblem(ProblemError):
    """An `UpstreamError` as the problem the client sees (502, 503 or 504)."""

    def __init__(self, exc: UpstreamError) -> None:
        super().__init__(exc.detail, headers={"Retry-After": "1"} if exc.status == 503 else None)
        self.status = exc.status  # type: ignore[misc]
        self.type_slug = exc.type_slug  # type: ignore[misc]
        self.title = exc.title  # type: ignore[misc]


def _as_problem(exc: UpstreamError, pool: UpstreamPool) -> ProblemError:
    logger.warning("upstream failed", extra={"upstream": pool.name, "status": exc.status, "error": exc.detail})
    return UpstreamProblem(exc)
