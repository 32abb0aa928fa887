"""Runs the gateway's own ASGI app (health, docs, metrics, 404s) for a request that arrived on
the gateway's HTTP server. These are small, rare requests; the proxy path never comes here.
"""
from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import ASGIApp, Message

from mcm_gateway.proxy import ClientGone, ClientIO, Incoming


async def serve_asgi(app: ASGIApp, request: Incoming, client: ClientIO, server: tuple[str, int]) -> None:
    scope: dict[str, Any] = {
        "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"}, "http_version": "1.1",
        "method": request.method, "scheme": request.scheme, "path": request.path, "raw_path": request.raw_path,
        "query_string": request.query, "root_path": "", "headers": request.headers,
        "client": (request.peer, 0), "server": server, "state": {},
    }
    finished = asyncio.Event()
    body_read = False
    pending: tuple[int, list[tuple[bytes, bytes]]] | None = None
    started = completed = False

    async def receive() -> Message:
        nonlocal body_read
        if not body_read:
            try:
                body, more = await client.read_body()
            except ClientGone:
                return {"type": "http.disconnect"}
            body_read = not more
            return {"type": "http.request", "body": body, "more_body": more}
        await finished.wait()  # nothing left to read: "disconnect" once the answer is out
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        nonlocal pending, started, completed
        if message["type"] == "http.response.start":
            pending = (message["status"], list(message.get("headers", [])))
        elif message["type"] == "http.response.body" and not finished.is_set():
            body, more = message.get("body", b""), message.get("more_body", False)
            if not started:
                assert pending is not None, "http.response.body before http.response.start"
                started = True
                await client.start_response(pending[0], pending[1], body, more)
            else:
                await client.send_body(body, more)
            if not more:
                completed = True
                finished.set()

    try:
        await app(scope, receive, send)
    finally:
        finished.set()
    if not completed:
        client.abort()
