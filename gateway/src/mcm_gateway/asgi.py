"""The proxy behind a plain ASGI interface, for any ASGI server (`create_app()`).

Production runs the gateway's own HTTP server (`mcm_gateway.server`), which needs no ASGI
messages on the hot path; this adapter keeps `create_app()` a normal ASGI app with the same
proxy behaviour, for tools and tests that expect one.
"""
from __future__ import annotations

from starlette.types import Receive, Scope, Send

from mcm_gateway.proxy import ClientGone, Incoming


class AsgiClient:
    __slots__ = ("receive", "send")

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive = receive
        self.send = send

    async def read_body(self) -> tuple[bytes, bool]:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        return message.get("body", b""), message.get("more_body", False)

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool) -> None:
        if not more and not any(name == b"content-length" for name, _ in headers):
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        await self.send({"type": "http.response.start", "status": status, "headers": headers})
        if body or not more:
            await self.send({"type": "http.response.body", "body": body, "more_body": more})

    async def send_body(self, body: bytes, more: bool) -> None:
        await self.send({"type": "http.response.body", "body": body, "more_body": more})

    def abort(self) -> None:
        """Returning without finishing the response makes the ASGI server close the connection."""


def incoming_from_scope(scope: Scope) -> Incoming:
    client = scope.get("client")
    return Incoming(
        method=scope["method"],
        path=scope["path"],
        raw_path=scope.get("raw_path") or scope["path"].encode(),
        query=scope.get("query_string", b""),
        headers=scope["headers"],
        peer=client[0] if client else "0.0.0.0",
        scheme=scope.get("scheme", "http"),
    )
