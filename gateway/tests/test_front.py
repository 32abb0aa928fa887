"""The public front end (uvicorn + the gateway's protocol limits) and what the proxy refuses:
framing, keep-alive, pipelining, limits, deadlines, Upgrade, trailers, codings, HTTP/1.0, CORS."""

from __future__ import annotations

import asyncio
import uuid

import pytest


async def _open(gateway):
    host, port = gateway.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _raw(gateway, payload: bytes, *, timeout: float = 5.0) -> bytes:  # noqa: ASYNC109  # a read deadline
    reader, writer = await _open(gateway)
    writer.write(payload)
    await writer.drain()
    try:
        return await asyncio.wait_for(reader.read(-1), timeout)
    finally:
        writer.close()


def _auth(token: str) -> bytes:
    return f"authorization: Bearer {token}\r\n".encode()


async def test_pipelined_requests_are_answered_in_order(gateway, token):
    payload = (
        b"GET /api/v1/circles/first HTTP/1.1\r\nhost: x\r\n" + _auth(token) + b"\r\n"
        b"GET /api/v1/events/second HTTP/1.1\r\nhost: x\r\n" + _auth(token) + b"connection: close\r\n\r\n"
    )
    answer = await _raw(gateway, payload)
    assert answer.count(b"HTTP/1.1 200 OK") == 2
    assert answer.index(b"/api/v1/circles/first") < answer.index(b"/api/v1/events/second")


async def test_http_1_0_without_keep_alive_is_closed_after_the_answer(gateway):
    answer = await _raw(gateway, b"GET / HTTP/1.0\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 OK")
    assert b"connection: close" in answer.lower()


async def test_an_http_1_0_client_never_gets_a_chunked_answer(gateway, token):
    size = 300_000  # the upstream streams it without a Content-Length
    answer = await _raw(gateway, f"GET /api/v1/circles/big?bytes={size} HTTP/1.0\r\n".encode() + _auth(token) + b"\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in head.lower()
    assert f"content-length: {size}".encode() in head.lower()
    assert len(body) == size


async def test_garbage_is_a_400_problem_and_the_connection_closes(gateway):
    answer = await _raw(gateway, b"NOT HTTP AT ALL\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"application/problem+json" in answer


async def test_oversized_headers_are_431(gateway):
    answer = await _raw(gateway, b"GET / HTTP/1.1\r\nhost: x\r\nx-big: " + b"a" * 20000 + b"\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 431")
    assert b"application/problem+json" in answer


async def _write_until_answered(reader, writer, pieces) -> bytes:
    """Write pieces one by one, stopping as soon as the gateway answers or hangs up (writing on
    after it closed would make the kernel reset the connection and drop its answer)."""
    for piece in pieces:
        try:
            data = await asyncio.wait_for(reader.read(65536), 0.2)
        except TimeoutError:
            data = None
        if data is not None:  # an answer (or EOF): read the rest
            try:
                return data + await asyncio.wait_for(reader.read(-1), 5)
            except ConnectionError:
                return data
        try:
            writer.write(piece)
            await writer.drain()
        except ConnectionError:
            return b""
    return b""


async def test_endless_headers_are_cut_off_while_they_arrive(gateway):
    reader, writer = await _open(gateway)
    pieces = [b"GET / HTTP/1.1\r\nhost: x\r\n"] + [
        b"x-pad-%d: " % n + b"a" * 4000 + b"\r\n" for n in range(50)
    ]  # never a blank line
    answer = await _write_until_answered(reader, writer, pieces)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 431")


async def test_an_overlong_url_is_414(gateway):
    answer = await _raw(gateway, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nhost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 414")


async def test_expect_100_continue_is_honoured(gateway, token):
    reader, writer = await _open(gateway)
    writer.write(
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ncontent-length: 5\r\nexpect: 100-continue\r\n"
        + _auth(token)
        + b"\r\n"
    )
    await writer.drain()
    interim = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert interim.startswith(b"HTTP/1.1 100 Continue")
    writer.write(b"hello")
    final = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert final.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_a_client_that_never_finishes_its_headers_is_disconnected(start_gateway):
    gateway = await start_gateway(header_timeout_seconds=0.3)
    answer = await _raw(gateway, b"GET / HTTP/1.1\r\nhost: x\r\nx-slow: ", timeout=5)
    assert answer == b""  # closed without an answer, well before the 5 s timeout


async def test_a_client_that_connects_and_says_nothing_is_disconnected(start_gateway):
    gateway = await start_gateway(header_timeout_seconds=0.3)
    assert await _raw(gateway, b"", timeout=5) == b""


async def test_a_slow_body_is_408_and_never_takes_an_upstream_connection(start_gateway, token, upstreams):
    gateway = await start_gateway(body_idle_timeout_seconds=0.3, body_timeout_seconds=5)
    pool = gateway.app.runtime.pools["circles"]
    marker = f"slow-{uuid.uuid4().hex}".encode()
    reader, writer = await _open(gateway)
    writer.write(
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\nx-request-id: "
        + marker
        + b"\r\n"
        + _auth(token)
        + b"\r\nab"
    )
    await writer.drain()
    await asyncio.sleep(0.1)
    assert pool.open_connections == 0  # the body is read first; no upstream connection yet
    answer = await asyncio.wait_for(reader.read(-1), 5)  # and the connection closes after it
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")
    assert b"application/problem+json" in answer and b"connection: close" in answer.lower()
    assert marker not in upstreams["circles"].app.request_ids()


async def test_a_body_that_trickles_past_the_total_deadline_is_408(start_gateway, token):
    gateway = await start_gateway(body_idle_timeout_seconds=0.5, body_timeout_seconds=0.8)
    reader, writer = await _open(gateway)
    head = b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n" + _auth(token) + b"\r\n"
    # One byte every 0.2 s: never idle for long, but never done either.
    answer = await _write_until_answered(reader, writer, [head] + [b"a"] * 20)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408")


async def test_requests_in_flight_per_client_are_capped(start_gateway, bearer):
    gateway = await start_gateway(max_in_flight_per_client=2)
    slow = [
        asyncio.create_task(gateway.client.get("/api/v1/circles/slow?seconds=0.8", headers=bearer)) for _ in range(2)
    ]
    await asyncio.sleep(0.3)
    refused = await gateway.client.get("/api/v1/circles", headers=bearer)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    assert [response.status_code for response in await asyncio.gather(*slow)] == [200, 200]
    assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200  # counts go back down
    assert gateway.app.proxy.in_flight == {}


async def test_upgrade_requests_are_refused_and_closed_on_every_path(gateway, token):
    for path in (b"/api/v1/circles", b"/", b"/api/v1/health/live"):
        answer = await _raw(
            gateway,
            b"GET "
            + path
            + b" HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: h2c\r\n"
            + _auth(token)
            + b"\r\n",
        )
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
        assert b"upgrade-refused" in answer and b"connection: close" in answer.lower()


async def test_connect_is_refused_and_closed_on_routed_paths_too(gateway, token, upstreams):
    marker = f"connect-{uuid.uuid4().hex}".encode()
    hidden = b"GET /api/v1/circles/hidden HTTP/1.1\r\nhost: x\r\n" + _auth(token) + b"\r\n"
    answer = await _raw(
        gateway,
        b"CONNECT /api/v1/circles HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\nx-request-id: " % len(hidden)
        + marker
        + b"\r\n"
        + _auth(token)
        + b"\r\n"
        + hidden,
    )
    assert answer.startswith(b"HTTP/1.1 400") and b"upgrade-refused" in answer, answer[:200]
    assert answer.count(b"HTTP/1.1 ") == 1  # the body was never taken for a request of its own
    assert marker not in upstreams["circles"].app.request_ids()


async def test_websocket_handshakes_are_not_accepted_on_http_routes(gateway, token):
    answer = await _raw(
        gateway,
        b"GET /api/v1/circles HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n"
        b"sec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\nsec-websocket-version: 13\r\n" + _auth(token) + b"\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]


async def test_two_authorization_headers_are_400(gateway, token, upstreams):
    marker = f"two-auth-{uuid.uuid4().hex}".encode()
    answer = await _raw(
        gateway,
        b"GET /api/v1/circles HTTP/1.1\r\nhost: x\r\nx-request-id: "
        + marker
        + b"\r\n"
        + _auth(token)
        + b"authorization: Bearer other\r\nconnection: close\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400") and b"ambiguous-request" in answer
    assert marker not in upstreams["circles"].app.request_ids()


async def test_request_trailers_are_refused_and_never_forwarded(gateway, token, upstreams):
    marker = f"trailer-{uuid.uuid4().hex}".encode()
    answer = await _raw(
        gateway,
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nconnection: close\r\nx-request-id: "
        + marker
        + b"\r\n"
        + _auth(token)
        + b"\r\n5\r\nhello\r\n0\r\nx-user-id: admin\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 400") and b"trailers-refused" in answer
    assert marker not in upstreams["circles"].app.request_ids()


@pytest.mark.parametrize("coding", [b"gzip, chunked", b"deflate,chunked"])
async def test_transfer_codings_other_than_chunked_are_501(gateway, token, coding):
    answer = await _raw(
        gateway,
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ntransfer-encoding: "
        + coding
        + b"\r\nconnection: close\r\n"
        + _auth(token)
        + b"\r\n5\r\nhello\r\n0\r\n\r\n",
    )
    assert answer.startswith(b"HTTP/1.1 501"), answer[:200]


async def test_the_upstream_gets_the_gateways_own_framing(gateway, bearer, forwarded):
    response = await gateway.client.post(
        "/api/v1/circles",
        headers={**bearer, "Connection": "keep-alive", "TE": "trailers", "Trailer": "x-a", "Keep-Alive": "timeout=5"},
        content=b"12345",
    )
    assert response.status_code == 200
    seen = forwarded(response)
    assert seen["content-length"] == ["5"]
    for name in ("transfer-encoding", "te", "trailer", "keep-alive", "connection", "upgrade", "expect"):
        assert name not in seen, name


@pytest.fixture
async def cors_gateway(start_gateway):
    return await start_gateway(cors_origins="https://app.example")


async def test_cors_preflight_is_answered_by_the_gateway(cors_gateway, upstreams):
    response = await cors_gateway.client.options(
        "/api/v1/circles",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
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


async def test_cors_headers_on_proxied_refused_and_own_answers(cors_gateway, bearer):
    ok = await cors_gateway.client.get("/api/v1/circles", headers={**bearer, "Origin": "https://app.example"})
    assert ok.headers["access-control-allow-origin"] == "https://app.example"
    assert "X-Request-ID" in ok.headers["access-control-expose-headers"]
    refused = await cors_gateway.client.get("/api/v1/circles", headers={"Origin": "https://app.example"})
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "https://app.example"
    other = await cors_gateway.client.get("/api/v1/circles", headers={**bearer, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers
    own = await cors_gateway.client.get("/api/v1/health/live", headers={"Origin": "https://app.example"})
    assert own.headers["access-control-allow-origin"] == "https://app.example"


@pytest.mark.parametrize(
    "framing",
    [
        b"content-length: 5\r\ntransfer-encoding: chunked\r\n",
        b"content-length: 5\r\ncontent-length: 6\r\n",
        b"transfer-encoding: chunked, identity\r\n",
    ],
)
async def test_ambiguous_body_framing_is_refused_not_forwarded(gateway, token, upstreams, framing):
    marker = f"smuggle-{uuid.uuid4().hex}".encode()
    answer = await _raw(
        gateway,
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\n"
        + framing
        + b"x-request-id: "
        + marker
        + b"\r\n"
        + _auth(token)
        + b"\r\n"
        + b"5\r\nhello\r\n0\r\n\r\n",
    )
    assert answer.startswith((b"HTTP/1.1 400", b"HTTP/1.1 501")), answer[:200]
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


async def test_an_idle_keep_alive_connection_is_closed_after_keep_alive_seconds(start_gateway):
    gateway = await start_gateway(keep_alive_seconds=0.4)
    reader, writer = await _open(gateway)
    writer.write(b"GET /api/v1/health/live HTTP/1.1\r\nhost: x\r\n\r\n")
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    assert head.startswith(b"HTTP/1.1 200")
    # The body, then nothing more: the gateway closes the idle connection (EOF) within a sweep.
    rest = await asyncio.wait_for(reader.read(-1), 3)
    writer.close()
    assert b"connection: close" not in head.lower() and rest.endswith(b"}")


async def test_trailers_arriving_after_the_proxy_started_reading_are_refused_too(gateway, token, upstreams):
    marker = f"late-trailer-{uuid.uuid4().hex}".encode()
    reader, writer = await _open(gateway)
    writer.write(
        b"POST /api/v1/circles HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\nx-request-id: "
        + marker
        + b"\r\n"
        + _auth(token)
        + b"\r\n5\r\nhello\r\n"
    )
    await writer.drain()
    await asyncio.sleep(0.2)  # the proxy is reading the body by now
    writer.write(b"0\r\nx-user-id: admin\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(-1), 5)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 400") and b"trailers-refused" in answer
    assert marker not in upstreams["circles"].app.request_ids()


def test_sigterm_drains_readiness_first_then_stops_cleanly(tmp_path):
    """The real process (`python -m mcm_gateway serve`): after SIGTERM readiness answers 503 at
    once while the listener stays up for SHUTDOWN_DELAY_SECONDS, then it exits with status 0."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import httpx

    from mcm_devstack.engines import free_port

    port = free_port()
    env = {
        **os.environ,
        "GATEWAY_PORT": str(port),
        "ENVIRONMENT": "test",
        "LOG_LEVEL": "WARNING",
        "REDIS_URL": "",
        "SHUTDOWN_DELAY_SECONDS": "1.5",
        "UPSTREAM_HEALTH_INTERVAL_SECONDS": "0",
    }
    log = tmp_path / "gateway.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "mcm_gateway", "serve"], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}/api/v1/health/ready"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        os.kill(process.pid, signal.SIGTERM)
        time.sleep(0.3)
        assert httpx.get(url, timeout=2).status_code == 503  # draining, still listening
        assert process.wait(20) == 0, log.read_text()[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
