"""The gateway's own HTTP/1.1 server: framing, keep-alive, pipelining, limits, CORS."""
from __future__ import annotations

import asyncio

import pytest


async def _raw(gateway, payload: bytes, *, read_until_close: bool = True, timeout: float = 5.0) -> bytes:
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(payload)
    await writer.drain()
    try:
        if read_until_close:
            return await asyncio.wait_for(reader.read(-1), timeout)
        return await asyncio.wait_for(reader.read(65536), timeout)
    finally:
        writer.close()


async def test_pipelined_requests_are_answered_in_order(gateway, token):
    auth = f"authorization: Bearer {token}\r\n".encode()
    payload = (
        b"GET /api/v1/circles/first HTTP/1.1\r\nhost: x\r\n" + auth + b"\r\n"
        b"GET /api/v1/events/second HTTP/1.1\r\nhost: x\r\n" + auth + b"connection: close\r\n\r\n"
    )
    answer = await _raw(gateway, payload)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b"/api/v1/circles/first") < answer.index(b"/api/v1/events/second")


async def test_http_1_0_without_keep_alive_is_closed_after_the_answer(gateway):
    answer = await _raw(gateway, b"GET / HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in answer.lower()


async def test_garbage_is_a_400_problem_and_the_connection_closes(gateway):
    answer = await _raw(gateway, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"application/problem+json" in answer


async def test_oversized_headers_are_431(gateway):
    answer = await _raw(gateway, b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 20000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")


async def test_an_overlong_url_is_414(gateway):
    answer = await _raw(gateway, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nhost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414")


async def test_expect_100_continue_is_honoured(gateway, token):
    host, port = gateway.url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n"
        + f"authorization: Bearer {token}\r\n\r\n".encode()
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(b"hello")
    final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert final.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_a_client_that_never_finishes_its_headers_is_disconnected(start_gateway):
    gateway = await start_gateway()
    gateway.app.server.limits = type(gateway.app.server.limits)(header_timeout_seconds=0.3)
    for conn in list(gateway.app.server.connections):
        conn.limits = gateway.app.server.limits
    answer = await _raw(gateway, b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ", timeout=5)
    assert answer == b""  # closed without an answer, well before the 5 s timeout


async def test_websocket_upgrades_are_not_proxied(gateway, token):
    answer = await _raw(
        gateway,
        b"GET /api/v1/circles HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
        + f"authorization: Bearer {token}\r\n\r\n".encode(),
    )
    assert not answer.startswith(b"HTTP/1.1 101")


@pytest.fixture
async def cors_gateway(start_gateway):
    return await start_gateway(cors_origins="https://app.example")


async def test_cors_preflight_is_answered_by_the_gateway(cors_gateway, upstreams):
    response = await cors_gateway.client.options(
        "/api/v1/circles",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization, content-type"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in response.headers["access-control-allow-methods"]


async def test_cors_preflight_from_an_unknown_origin_is_refused(cors_gateway):
    response = await cors_gateway.client.options(
        "/api/v1/circles", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers


async def test_cors_headers_on_proxied_and_refused_answers(cors_gateway, bearer):
    ok = await cors_gateway.client.get("/api/v1/circles", headers={**bearer, "Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "X-Request-ID" in ok.headers["access-control-expose-headers"]
    refused = await cors_gateway.client.get("/api/v1/circles", headers={"Origin": "https://app.example"})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "https://app.example"
    other = await cors_gateway.client.get("/api/v1/circles", headers={**bearer, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "framing",
    [
        b"content-length: 5\r\ntransfer-encoding: chunked\r\n",
        b"content-length: 5\r\ncontent-length: 6\r\n",
        b"transfer-encoding: chunked, identity\r\n",
    ],
)
async def test_ambiguous_body_framing_is_refused_not_forwarded(gateway, token, upstreams, framing):
    marker = f"smuggle-{id(framing)}".encode()
    answer = await _raw(
        gateway,
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\n" + framing + b"x-request-id: " + marker + b"\r\n"
        + f"authorization: Bearer {token}\r\n\r\n".encode() + b"5\r\nhello\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400")
    assert marker not in upstreams["circles"].app.request_ids()


async def test_shutdown_lets_requests_in_flight_finish_and_drains_readiness(start_gateway, bearer):
    gateway = await start_gateway()
    in_flight = asyncio.create_task(gateway.client.get("/api/v1/circles/slow?seconds=0.5", headers=bearer))
    await asyncio.sleep(0.2)
    stopping = asyncio.create_task(gateway.server.stop())
    await asyncio.sleep(0.05)
    assert gateway.app.runtime.health.draining
    response = await in_flight
    assert response.status_code == 200
    assert response.headers.get("connection") == "close"
    await stopping
