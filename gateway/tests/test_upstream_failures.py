"""A gateway never hangs: refused → 502, not configured or known down → 503, slow → 504."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from mcm_devstack.engines import free_port


async def test_connection_refused_is_502_then_a_known_down_upstream_is_a_fast_503(start_gateway, bearer):
    gateway = await start_gateway(
        payments_url=f"http://127.0.0.1:{free_port()}", breaker_failure_threshold=2, breaker_open_seconds=30
    )
    statuses = []
    for _ in range(4):
        response = await gateway.client.get("/api/v1/payments/history", headers=bearer)
        assert response.headers["content-type"] == "application/problem+json"
        statuses.append(response.status_code)
    assert statuses == [502, 502, 503, 503]
    assert response.headers["retry-after"] == "1"
    # Other upstreams are not affected.
    assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200


async def test_an_unconfigured_upstream_is_503(start_gateway, bearer):
    gateway = await start_gateway(payments_url="")
    response = await gateway.client.get("/api/v1/payments/history", headers=bearer)
    assert response.status_code == 503
    assert response.json()["type"].endswith("/upstream-unavailable")


async def test_a_slow_upstream_is_504_after_its_timeout(start_gateway, bearer):
    gateway = await start_gateway(circles_timeout_seconds=0.5)
    started = time.monotonic()
    response = await gateway.client.get("/api/v1/circles/slow?seconds=3", headers=bearer)
    elapsed = time.monotonic() - started
    assert response.status_code == 504
    assert response.json()["status"] == 504
    assert elapsed < 2.5  # well before the upstream's 3 s
    # The timed-out connection is not reused; the next request is fine.
    assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200


async def test_a_circuit_closes_again_when_the_upstream_comes_back(start_gateway, start_upstream, bearer):
    port = free_port()
    gateway = await start_gateway(
        payments_url=f"http://127.0.0.1:{port}", breaker_failure_threshold=1, breaker_open_seconds=0.2
    )
    assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 502
    assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 503
    await start_upstream("payments", port)
    await asyncio.sleep(0.3)
    assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 200


class FlakyUpstream:
    """Answers the first request on each connection, then closes the connection without answering
    the second — the race a proxy meets when a keep-alive connection is closed under it."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.server: asyncio.base_events.Server | None = None
        self.port = free_port()

    async def start(self) -> FlakyUpstream:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        answered = 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                if length:
                    await reader.readexactly(length)
                self.requests.append(head.split(b"\r\n")[0])
                if answered:
                    break
                answered += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        writer.close()

    async def stop(self) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


@pytest.fixture
async def flaky():
    upstream = await FlakyUpstream().start()
    yield upstream
    await upstream.stop()


async def test_a_get_on_a_dropped_keep_alive_connection_is_resent_once(start_gateway, bearer, flaky):
    gateway = await start_gateway(payments_url=f"http://127.0.0.1:{flaky.port}")
    assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 200
    assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 200
    assert len(flaky.requests) == 3  # the dropped one, then the resend on a fresh connection


async def test_a_post_is_never_resent(start_gateway, bearer, flaky):
    gateway = await start_gateway(payments_url=f"http://127.0.0.1:{flaky.port}")
    assert (await gateway.client.post("/api/v1/payments/checkout", headers=bearer, json={})).status_code == 200
    response = await gateway.client.post("/api/v1/payments/checkout", headers=bearer, json={})
    assert response.status_code == 502
    assert len(flaky.requests) == 2


async def test_upstream_status_codes_and_problem_bodies_pass_through(gateway, bearer):
    response = await gateway.client.get("/api/v1/circles/status/409", headers=bearer)
    assert response.status_code == 409
    assert response.json()["upstream"] == "circles"


async def test_a_down_upstream_is_found_by_the_health_watch_before_any_client_request(start_gateway, bearer):
    gateway = await start_gateway(
        payments_url=f"http://127.0.0.1:{free_port()}",
        upstream_health_interval_seconds=0.05,
        breaker_failure_threshold=2,
        breaker_open_seconds=30,
    )
    await asyncio.sleep(0.5)  # several probes, each a refused connect
    started = time.monotonic()
    response = await gateway.client.get("/api/v1/payments/history", headers=bearer)
    assert response.status_code == 503  # known down: not even a connect attempt
    assert time.monotonic() - started < 0.5


@pytest.fixture
def black_hole():
    """A port where connects hang: a listener that never accepts, its queue already full."""
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):  # fill the accept queue; later SYNs are dropped
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    yield port
    for sock in (*fillers, listener):
        sock.close()


async def test_connects_that_time_out_open_the_circuit_and_then_fail_fast(start_gateway, bearer, black_hole):
    gateway = await start_gateway(
        payments_url=f"http://127.0.0.1:{black_hole}",
        upstream_connect_timeout_seconds=0.3,
        breaker_failure_threshold=2,
        breaker_open_seconds=30,
        upstream_health_interval_seconds=0,
    )
    for _ in range(2):
        assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 504
    started = time.monotonic()
    response = await gateway.client.get("/api/v1/payments/history", headers=bearer)
    assert response.status_code == 503
    assert time.monotonic() - started < 0.2  # no connect attempt while the circuit is open
