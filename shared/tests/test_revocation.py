"""Session revocation through Redis: publish in auth, see it in memory within a second."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass

import pytest

from mcm_shared.redis import make_redis
from mcm_shared.revocation import (
    REVOKED_SESSIONS_KEY,
    RevocationListener,
    publish_revocation,
)


@dataclass
class FakePrincipal:
    session_id: uuid.UUID | None


@pytest.fixture
async def redis(redis_url):
    client = make_redis(redis_url)
    await client.delete(REVOKED_SESSIONS_KEY)
    yield client
    await client.delete(REVOKED_SESSIONS_KEY)
    await client.aclose()


@pytest.fixture
async def listener(redis):
    listener = RevocationListener(redis)
    await listener.start()
    yield listener
    await listener.stop()


async def _eventually(predicate, timeout: float = 1.0) -> float:  # noqa: ASYNC109  # polling budget
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("not within the time allowed")
        await asyncio.sleep(0.01)
    return time.monotonic() - started


async def test_a_published_revocation_is_seen_within_a_second(redis, listener):
    session = uuid.uuid4()
    assert listener.connected
    assert not listener.is_revoked(FakePrincipal(session))
    await publish_revocation(redis, session, time.time() + 900)
    await _eventually(lambda: listener.is_revoked(FakePrincipal(session)))
    assert not listener.is_revoked(FakePrincipal(uuid.uuid4()))
    assert not listener.is_revoked(FakePrincipal(None))


async def test_a_new_listener_loads_earlier_revocations_but_not_expired_ones(redis):
    live, expired = uuid.uuid4(), uuid.uuid4()
    await publish_revocation(redis, live, time.time() + 900)
    await redis.zadd(REVOKED_SESSIONS_KEY, {str(expired): int(time.time()) - 5})
    listener = RevocationListener(redis)
    await listener.start()
    try:
        assert listener.is_revoked(FakePrincipal(live))
        assert not listener.is_revoked(FakePrincipal(expired))
    finally:
        await listener.stop()


async def test_publishing_again_never_shortens_the_expiry(redis):
    session = uuid.uuid4()
    later = int(time.time()) + 900
    await publish_revocation(redis, session, later)
    await publish_revocation(redis, str(session), later - 600)
    assert await redis.zscore(REVOKED_SESSIONS_KEY, str(session)) == later


async def test_entries_are_forgotten_after_their_tokens_expire(redis):
    now = [time.time()]
    listener = RevocationListener(redis, prune_interval_seconds=0, clock=lambda: now[0])
    await listener.start()
    try:
        session = uuid.uuid4()
        await publish_revocation(redis, session, now[0] + 100)
        await _eventually(lambda: listener.is_revoked(FakePrincipal(session)))
        # Until a reload the announced id is kept for the fallback lifetime; move past it.
        now[0] += listener.fallback_ttl + 1
        await _eventually(lambda: not listener.is_revoked(FakePrincipal(session)), timeout=3)
    finally:
        await listener.stop()


async def test_the_listener_reconnects_and_catches_up_after_redis_drops_it(redis, listener):
    # Kill the listener's subscription connection, revoke while it is away, then check it
    # both catches up from the sorted set and keeps receiving new announcements.
    await redis.execute_command("CLIENT", "KILL", "TYPE", "pubsub")
    missed = uuid.uuid4()
    await publish_revocation(redis, missed, time.time() + 900)
    await _eventually(lambda: listener.is_revoked(FakePrincipal(missed)), timeout=5)
    await _eventually(lambda: listener.connected, timeout=5)
    fresh = uuid.uuid4()
    await publish_revocation(redis, fresh, time.time() + 900)
    await _eventually(lambda: listener.is_revoked(FakePrincipal(fresh)))


async def test_a_listener_without_redis_starts_and_reports_disconnected():
    client = make_redis("redis://127.0.0.1:1/0", socket_timeout=0.2)
    listener = RevocationListener(client)
    started = time.monotonic()
    await listener.start(wait_seconds=0.5)
    assert time.monotonic() - started < 1.5
    assert not listener.connected
    assert not listener.is_revoked(FakePrincipal(uuid.uuid4()))
    await listener.stop()
    await client.aclose()
