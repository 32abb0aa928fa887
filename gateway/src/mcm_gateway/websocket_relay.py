"""The WebSocket relay (docs/gateway.md, "WebSocket routes"): a client's socket on a route marked
`websocket` is joined to a socket of its own to the upstream, and frames pass both ways.

Before anything is accepted: the client address is resolved as for HTTP (`TRUSTED_PROXIES`), the
handshake counts against the client's in-flight cap for as long as the socket lives (shared with
the proxy, so one address holds at most `MAX_IN_FLIGHT_PER_CLIENT` requests and sockets together)
and against the anonymous rate limit of its address. No bearer token is read: the socket's
credential is a ticket in its first frame, checked by the upstream (ARCHITECTURE §11), so no
token ever travels in a URL. Only the headers the upstream needs go on (Origin, User-Agent, the
request id and X-Forwarded-For); anything identity-like a client sent stays here.

A refusal before the upstream accepted closes the client's handshake unaccepted (uvicorn answers
403). Frames are capped at uvicorn's `ws_max_size` on the client side and the same size towards the
upstream; the close code and reason of whichever side ends travel to the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.types import Receive, Scope, Send
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake
from websockets.typing import Origin

from mcm_gateway.deadlines import fast_request_id_bytes
from mcm_gateway.headers import split_request_headers
from mcm_gateway.routes import Route
from mcm_gateway.runtime import GatewayRuntime
from mcm_shared.errors import ProblemError
from mcm_shared.logging import well_formed_request_id

logger = logging.getLogger("mcm.gateway.websocket")

MAX_FRAME_BYTES = 64 * 1024  # as uvicorn's ws_max_size on the client side (front.py)
FORWARDED = (b"origin", b"user-agent")


class WebSocketRelay:
    def __init__(self, runtime: GatewayRuntime, in_flight: dict[str, int], max_in_flight: int) -> None:
        self.runtime = runtime
        self.in_flight = in_flight
        self.max_in_flight = max_in_flight

    async def handle(self, scope: Scope, receive: Receive, send: Send, route: Route) -> None:
        runtime = self.runtime
        headers = scope["headers"]
        found = split_request_headers(headers)
        client = scope.get("client")
        client_ip, forwarded_for, _ = runtime.addresses.resolve(client[0] if client else "0.0.0.0", found.xff)  # noqa: S104
        count = self.in_flight.get(client_ip, 0)
        if count >= self.max_in_flight:
            await send({"type": "websocket.close", "code": 1013})
            return
        limiter = runtime.rate_limiter
        if limiter is not None:
            try:
                limiter.count_anonymous(client_ip)
            except ProblemError:
                await send({"type": "websocket.close", "code": 1013})
                return
        self.in_flight[client_ip] = count + 1
        try:
            await self._relay(scope, receive, send, route, headers, found.request_id, client_ip, forwarded_for)
        finally:
            left = self.in_flight[client_ip] - 1
            if left:
                self.in_flight[client_ip] = left
            else:
                del self.in_flight[client_ip]

    async def _relay(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        route: Route,
        headers: list[tuple[bytes, bytes]],
        incoming_id: bytes | None,
        client_ip: str,
        forwarded_for: bytes,
    ) -> None:
        pool = self.runtime.pools.get(route.upstream)
        if pool is None or not pool.url:
            await send({"type": "websocket.close", "code": 1013})
            return
        rid = well_formed_request_id(incoming_id.decode("latin-1")) if incoming_id else None
        request_id = rid or fast_request_id_bytes().decode()
        query = scope.get("query_string", b"").decode("latin-1")
        url = pool.url.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + scope["path"]
        if query:
            url += "?" + query
        extra = [("X-Request-ID", request_id), ("X-Forwarded-For", forwarded_for.decode("latin-1"))]
        extra += [("X-Real-IP", client_ip)]
        passed = {name.decode("latin-1"): value.decode("latin-1") for name, value in headers if name in FORWARDED}
        try:
            upstream = await connect(
                url,
                origin=Origin(passed["origin"]) if "origin" in passed else None,
                user_agent_header=passed.get("user-agent"),
                additional_headers=extra,
                open_timeout=self.runtime.settings.upstream_connect_timeout_seconds * 5,
                max_size=MAX_FRAME_BYTES,
                compression=None,
            )
        except (InvalidHandshake, OSError, TimeoutError) as exc:
            logger.info("websocket upstream refused", extra={"upstream": route.upstream, "error": type(exc).__name__})
            await send({"type": "websocket.close", "code": 1011})
            return
        async with upstream:
            message = await receive()
            if message["type"] != "websocket.connect":
                return
            await send({"type": "websocket.accept"})
            await _pump(receive, send, upstream)


async def _pump(receive: Receive, send: Send, upstream: ClientConnection) -> None:
    """Frames both ways until one side ends; its close code goes to the other."""
    closing: dict[str, Any] = {}

    async def from_client() -> None:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                closing["client"] = int(message.get("code") or 1000)
                return
            if message.get("text") is not None:
                await upstream.send(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send(message["bytes"])

    async def from_upstream() -> None:
        try:
            async for frame in upstream:
                if isinstance(frame, str):
                    await send({"type": "websocket.send", "text": frame})
                else:
                    await send({"type": "websocket.send", "bytes": frame})
        except ConnectionClosed:
            pass
        code = upstream.close_code
        closing["upstream"] = (code, upstream.close_reason or "") if code is not None else (1011, "")

    tasks = [asyncio.create_task(from_client()), asyncio.create_task(from_upstream())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    if "upstream" in closing and "client" not in closing:
        code, reason = closing["upstream"]
        with contextlib.suppress(Exception):
            await send({"type": "websocket.close", "code": code if code != 1005 else 1000, "reason": reason})
    else:
        with contextlib.suppress(Exception):
            await upstream.close(code=_relayable(closing.get("client", 1000)))


def _relayable(code: int) -> int:
    """Codes a client may send on: 1000, 1001 and the application range; anything else as 1000."""
    return code if code in (1000, 1001) or 3000 <= code < 5000 else 1000
