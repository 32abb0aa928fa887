"""Body size limits (413), counted for declared and for chunked bodies."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
async def small(start_gateway):
    return await start_gateway(max_body_bytes=1000)


async def test_a_declared_oversized_body_is_refused_before_forwarding(small, bearer, upstreams):
    request_id = f"big-{uuid.uuid4().hex}"
    response = await small.client.post(
        "/api/v1/circles", headers={**bearer, "X-Request-ID": request_id}, content=b"x" * 1001
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert request_id.encode() not in upstreams["circles"].app.request_ids()


async def test_a_chunked_body_is_counted_while_streaming(small, bearer):
    async def chunks():
        for _ in range(10):
            yield b"y" * 300

    response = await small.client.post("/api/v1/circles", headers=bearer, content=chunks())
    assert response.status_code == 413


async def test_a_body_within_the_limit_passes(small, bearer):
    response = await small.client.post("/api/v1/circles", headers=bearer, content=b"x" * 1000)
    assert response.status_code == 200
    assert response.json()["body_size"] == 1000


async def test_public_endpoints_have_the_same_limit(small):
    response = await small.client.post("/api/v1/auth/login", content=b"x" * 5000)
    assert response.status_code == 413
