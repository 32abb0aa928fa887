"""The WebSocket relay: a handshake on a WebSocket route is joined to a socket of the gateway's own
to the upstream; frames pass both ways, the upstream's close code reaches the client, no token is
needed (the ticket travels in the first frame) and no client identity header is passed on; sockets
count against the per-client in-flight cap; an unreachable upstream refuses the handshake."""

from __future__ import annotations

import asyncio
import json

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mcm_devstack.engines import free_port


async def _upstream_socket(websocket: WebSocket) -> None:
    """Says which headers reached it, echoes frames, and closes with 4401 on "close-me"."""
    await websocket.accept()
    seen = {name: websocket.headers.get(name) for name in ("origin", "authorization", "x-user-id", "x-forwarded-for")}
    await websocket.send_text(json.dumps({"headers": seen, "query": websocket.url.query}))
    while True:
        text = await websocket.receive_text()
        if text == "close-me":
            await websocket.close(code=4401, reason="ticket not valid")
            return
        await websocket.send_text("echo:" + text)


def realtime_upstream() -> Starlette:
    return Starlette(routes=[WebSocketRoute("/api/v1/realtime", _upstream_socket)])


def socket_url(gateway, path: str = "/api/v1/realtime") -> str:
    return gateway.url.replace("http://", "ws://") + path


async def test_frames_and_the_close_code_pass_both_ways(start_gateway, start_upstream):
    upstream = await start_upstream("messaging", app=realtime_upstream())
    gateway = await start_gateway(messaging_url=upstream.url)
    socket = await connect(
        socket_url(gateway, "/api/v1/realtime?v=1"),
        origin="https://app.example",
        additional_headers={"Authorization": "Bearer stolen", "X-User-Id": "someone-else"},
    )
    hello = json.loads(await asyncio.wait_for(socket.recv(), 5))
    assert hello["headers"]["origin"] == "https://app.example"
    assert hello["headers"]["authorization"] is None and hello["headers"]["x-user-id"] is None
    assert hello["headers"]["x-forwarded-for"] == "127.0.0.1"
    assert hello["query"] == "v=1"
    await socket.send("hi")
    assert await asyncio.wait_for(socket.recv(), 5) == "echo:hi"
    await socket.send("close-me")
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (4401, "ticket not valid")


async def test_sockets_count_against_the_in_flight_cap(start_gateway, start_upstream):
    upstream = await start_upstream("messaging", app=realtime_upstream())
    gateway = await start_gateway(messaging_url=upstream.url, max_in_flight_per_client=1)
    first = await connect(socket_url(gateway))
    await asyncio.wait_for(first.recv(), 5)
    with pytest.raises(InvalidStatus) as refused:
        await connect(socket_url(gateway))
    assert refused.value.response.status_code == 403
    await first.close()
    await asyncio.sleep(0.2)
    again = await connect(socket_url(gateway))
    await again.close()


async def test_an_unreachable_upstream_refuses_the_handshake(start_gateway):
    gateway = await start_gateway(messaging_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(InvalidStatus) as refused:
        await connect(socket_url(gateway))
    assert refused.value.response.status_code == 403


async def test_only_websocket_routes_take_a_handshake(gateway):
    for path in ("/api/v1/realtime/tickets", "/api/v1/conversations", "/api/v1/realtimeX"):
        with pytest.raises(InvalidStatus) as refused:
            await connect(socket_url(gateway, path))
        assert refused.value.response.status_code == 403
