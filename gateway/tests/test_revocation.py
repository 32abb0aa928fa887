"""A revoked session's tokens are refused at the gateway within a second, cached or not."""

from __future__ import annotations

import asyncio
import time
import uuid

from mcm_shared.redis import make_redis
from mcm_shared.revocation import publish_revocation


async def test_a_revoked_session_is_refused_within_a_second_even_with_a_cached_token(start_gateway, keys, redis_url):
    gateway = await start_gateway(redis_url=redis_url)
    session = str(uuid.uuid4())
    other_session_token = keys.mint()
    token = keys.mint(sid=session)
    headers = {"Authorization": f"Bearer {token}"}
    assert (await gateway.client.get("/api/v1/circles", headers=headers)).status_code == 200  # now cached

    redis = make_redis(redis_url)
    try:
        await publish_revocation(redis, session, time.time() + 900)
        started = time.monotonic()
        while (await gateway.client.get("/api/v1/circles", headers=headers)).status_code != 401:
            assert time.monotonic() - started < 1.0, "still accepted after a second"
            await asyncio.sleep(0.02)
    finally:
        await redis.aclose()
    # Other sessions are unaffected.
    assert (
        await gateway.client.get("/api/v1/circles", headers={"Authorization": f"Bearer {other_session_token}"})
    ).status_code == 200


async def test_a_gateway_started_later_knows_earlier_revocations(start_gateway, keys, redis_url):
    session = str(uuid.uuid4())
    redis = make_redis(redis_url)
    try:
        await publish_revocation(redis, session, time.time() + 900)
    finally:
        await redis.aclose()
    gateway = await start_gateway(redis_url=redis_url)
    response = await gateway.client.get(
        "/api/v1/circles", headers={"Authorization": f"Bearer {keys.mint(sid=session)}"}
    )
    assert response.status_code == 401


async def test_readiness_checks_redis(start_gateway, redis_url):
    gateway = await start_gateway(redis_url=redis_url)
    ready = await gateway.client.get("/api/v1/health/ready")
    assert ready.status_code == 200
    assert ready.json()["checks"]["redis"]["status"] == "ok"
    down = await start_gateway(redis_url="redis://127.0.0.1:1/0", dependency_timeout_seconds=0.3)
    assert (await down.client.get("/api/v1/health/ready")).status_code == 503
