"""Rate limits: strict on credential endpoints, per user / per IP elsewhere, shared via Redis."""

from __future__ import annotations

import asyncio
import random
import time
import uuid


def _random_ip() -> str:
    return f"203.0.{random.randint(0, 255)}.{random.randint(1, 254)}"


async def test_login_attempts_are_limited_per_client_ip_with_rate_limit_headers(start_gateway, redis_url, upstreams):
    gateway = await start_gateway(
        redis_url=redis_url, trusted_proxies="127.0.0.1/32", rate_limit_credential_per_minute=5
    )
    client_ip = _random_ip()
    headers = {"X-Forwarded-For": client_ip}
    for attempt in range(5):
        response = await gateway.client.post("/api/v1/auth/login", json={}, headers=headers)
        assert response.status_code == 200, attempt
        assert response.headers["ratelimit-limit"] == "5"
        assert response.headers["ratelimit-remaining"] == str(4 - attempt)
    request_id = f"rl-{uuid.uuid4().hex}"
    refused = await gateway.client.post("/api/v1/auth/login", json={}, headers={**headers, "X-Request-ID": request_id})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["ratelimit-remaining"] == "0"
    assert request_id.encode() not in upstreams["auth"].app.request_ids()
    # Another client, and another credential endpoint, have their own budgets.
    assert (
        await gateway.client.post("/api/v1/auth/login", json={}, headers={"X-Forwarded-For": _random_ip()})
    ).status_code == 200
    assert (await gateway.client.post("/api/v1/auth/register", json={}, headers=headers)).status_code == 200


async def test_forwarded_for_from_an_untrusted_peer_cannot_dodge_the_limit(start_gateway):
    gateway = await start_gateway(rate_limit_credential_per_minute=2)  # no trusted proxies
    statuses = [
        (
            await gateway.client.post("/api/v1/auth/refresh", json={}, headers={"X-Forwarded-For": _random_ip()})
        ).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]


async def test_signed_in_users_are_limited_per_user(start_gateway, keys):
    gateway = await start_gateway(rate_limit_user_per_minute=5)
    busy = {"Authorization": f"Bearer {keys.mint()}"}
    statuses = [(await gateway.client.get("/api/v1/circles", headers=busy)).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    other = {"Authorization": f"Bearer {keys.mint()}"}
    assert (await gateway.client.get("/api/v1/circles", headers=other)).status_code == 200


async def test_failed_sign_ins_count_against_the_client_ip(start_gateway):
    gateway = await start_gateway(rate_limit_anonymous_per_minute=3)
    statuses = [
        (await gateway.client.get("/api/v1/circles", headers={"Authorization": "Bearer nope"})).status_code
        for _ in range(4)
    ]
    assert statuses == [401, 401, 401, 429]


async def test_the_user_limit_is_shared_by_gateway_replicas(start_gateway, keys, redis_url):
    first = await start_gateway(redis_url=redis_url, rate_limit_user_per_minute=8)
    second = await start_gateway(redis_url=redis_url, rate_limit_user_per_minute=8)
    headers = {"Authorization": f"Bearer {keys.mint()}"}
    for _ in range(6):
        assert (await first.client.get("/api/v1/circles", headers=headers)).status_code == 200
    await asyncio.sleep(1.0)  # many flush intervals, with room for a busy machine
    # A replica learns a key's shared total at its first flush after seeing the key, so the
    # limit can be overshot by at most one flush interval (100 ms) of traffic per replica.
    assert (await second.client.get("/api/v1/circles", headers=headers)).status_code == 200  # 7th
    await asyncio.sleep(1.0)
    statuses = [(await second.client.get("/api/v1/circles", headers=headers)).status_code for _ in range(2)]
    assert statuses == [200, 429]  # 8th allowed, 9th refused: the first replica's 6 counted


async def test_redis_down_refuses_credential_endpoints_fast_and_lets_the_rest_through(start_gateway, bearer):
    gateway = await start_gateway(redis_url="redis://127.0.0.1:1/0", dependency_timeout_seconds=0.3)
    started = time.monotonic()
    login = await gateway.client.post("/api/v1/auth/login", json={})
    assert login.status_code == 503
    assert login.headers["retry-after"] == "1"
    assert time.monotonic() - started < 1.0
    assert (await gateway.client.get("/api/v1/circles", headers=bearer)).status_code == 200
