"""Large bodies stream through the gateway in both directions, framed correctly."""

from __future__ import annotations

import asyncio
import hashlib

BIG = 24 * 1024 * 1024


async def test_a_large_upload_with_content_length_arrives_whole(gateway, bearer):
    body = bytes(range(256)) * (BIG // 256)
    response = await gateway.client.post("/api/v1/payments/uploads", headers=bearer, content=body)
    assert response.status_code == 200
    assert response.json()["body_size"] == BIG
    assert response.json()["body_sha256"] == hashlib.sha256(body).hexdigest()


async def test_a_chunked_upload_arrives_whole(gateway, bearer, forwarded):
    digest = hashlib.sha256()
    parts = [bytes([n % 256]) * 1_000_003 for n in range(7)]
    for part in parts:
        digest.update(part)

    async def chunks():
        for part in parts:
            yield part

    response = await gateway.client.post("/api/v1/payments/uploads", headers=bearer, content=chunks())
    assert response.json()["body_size"] == sum(map(len, parts))
    assert response.json()["body_sha256"] == digest.hexdigest()
    # Read whole, then framed by the gateway: the service never sees the client's chunked framing.
    assert forwarded(response)["content-length"] == [str(sum(map(len, parts)))]
    assert "transfer-encoding" not in forwarded(response)


async def test_a_large_download_streams_through(gateway, bearer):
    received = 0
    async with gateway.client.stream("GET", f"/api/v1/circles/big?bytes={BIG}", headers=bearer) as response:
        assert response.status_code == 200
        async for chunk in response.aiter_bytes():
            received += len(chunk)
    assert received == BIG


async def test_connections_are_reused_across_requests(gateway, bearer):
    pool = gateway.app.runtime.pools["circles"]
    for _ in range(20):
        assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200
    assert pool.open_connections == 1


async def test_a_connection_that_buffered_a_large_response_is_reusable(gateway, bearer):
    # A client that reads slowly makes the gateway stop reading from the upstream; once that
    # response is complete the same upstream connection must serve the next request normally.
    async with gateway.client.stream("GET", f"/api/v1/circles/big?bytes={4 * 1024 * 1024}", headers=bearer) as response:
        await asyncio.sleep(0.3)  # let the gateway's buffer fill up while we do not read
        total = sum([len(chunk) async for chunk in response.aiter_bytes()])
    assert total == 4 * 1024 * 1024
    for _ in range(3):
        assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200


async def test_a_response_the_client_abandons_closes_its_upstream_connection(gateway, bearer):
    # Only a connection whose request went out whole and whose answer was read whole goes back to
    # the pool; one left mid-answer is closed, never reused.
    pool = gateway.app.runtime.pools["circles"]
    async with gateway.client.stream("GET", f"/api/v1/circles/big?bytes={8 * 1024 * 1024}", headers=bearer) as response:
        assert response.status_code == 200
        async for _ in response.aiter_bytes():
            break  # read a little, then hang up
    for _ in range(50):
        if pool.open_connections == 0:
            break
        await asyncio.sleep(0.05)
    assert pool.open_connections == 0
    assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200
    assert pool.open_connections == 1
