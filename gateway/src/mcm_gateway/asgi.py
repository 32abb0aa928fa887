"""The client side of a proxied request, over uvicorn's ASGI messages (`ClientIO`).

uvicorn (httptools/llhttp) parses the request and frames the answer; this adapter only turns
`receive`/`send` into what the proxy needs. Two things it adds: a Content-Length whenever the
whole answer is known (one write, no chunked framing), and `http10` so the proxy never hands
an HTTP/1.0 client an answer uvicorn would have to send chunked.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from mcm_gateway.front import HEADER_COUNT
from mcm_gateway.proxy import ClientGone, Incoming

_NO_BODY_STATUSES = frozenset({204, 304})


class AsgiClient:
    __slots__ = ("body_done", "head", "http10", "receive", "send")

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.receive = receive
        self.send = send
        self.body_done = False  # the proxy sets it from the headers: no body, nothing to read
        self.http10 = scope["http_version"] == "1.0"
        self.head = scope["method"] == "HEAD"

    async def read_body(self) -> tuple[bytes, bool]:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        more = message.get("more_body", False)
        if not more:
            self.body_done = True
        return message.get("body", b""), more

    async def wait_disconnect(self) -> None:
        """Returns once the client has gone (or the answer is complete). Only awaited while a
        streamed answer is relayed: uvicorn drops what is sent to a closed connection silently."""
        while (await self.receive())["type"] != "http.disconnect":
            pass

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool) -> None:
        if (
            not more
            and not self.head
            and status not in _NO_BODY_STATUSES
            and not any(name == b"content-length" for name, _ in headers)
        ):
            headers.append((b"content-length", b"%d" % len(body)))
        send = self.send
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": more})

    async def send_body(self, body: bytes, more: bool) -> None:
        await self.send({"type": "http.response.body", "body": body, "more_body": more})

    def abort(self) -> None:
        """Returning without finishing the response makes uvicorn close the connection."""


def incoming_from_scope(scope: Scope) -> Incoming:
    client = scope.get("client")
    headers = scope["headers"]
    extensions = scope.get("extensions")
    # How many entries are real headers (front.py counts them when llhttp finishes the head);
    # anything after them is a trailer. Without the count (another server), all of them now.
    count = extensions.get(HEADER_COUNT) if extensions else None
    return Incoming(
        method=scope["method"],
        path=scope["path"],
        raw_path=scope.get("raw_path") or scope["path"].encode(),
        query=scope.get("query_string", b""),
        headers=headers,
        peer=client[0] if client else "0.0.0.0",  # noqa: S104  # an unknown peer, not a bind address
        scheme=scope.get("scheme", "http"),
        header_count=len(headers) if count is None else count,
    )
