"""Revoked sessions, shared through Redis, checked in memory (ARCHITECTURE §4: within 1 s).

Auth calls `publish_revocation` when a session ends early (logout, password change or reset,
refresh-token reuse, account disabled, role demoted). That records the session id in the sorted
set `auth:revoked_sessions`, scored with the expiry of the longest-lived access token the session
may still hold, and announces it on the channel `auth:revocations`.

A `RevocationListener` (gateway, or any service) subscribes first and then loads the set — so
nothing published in between is missed — and keeps the ids in memory until their tokens would
have expired anyway. `is_revoked(principal)` is a set lookup: cheap enough for every request.
When Redis drops, the listener reconnects with backoff and reloads the whole set, which covers
anything announced while it was away. Every service's shared verifier consults one (see
`mcm_shared.wiring.verifier_hook`), as does the gateway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol, cast
from uuid import UUID

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import Connection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from mcm_shared.errors import DependencyUnavailable

logger = logging.getLogger("mcm.revocation")
_NO_RETRY = Retry(NoBackoff(), 0)

REVOKED_SESSIONS_KEY = "auth:revoked_sessions"
REVOCATIONS_CHANNEL = "auth:revocations"


class HasSession(Protocol):
    @property
    def session_id(self) -> UUID | None: ...


def _connection_of(pubsub: PubSub) -> Connection | None:
    # redis-py declares PubSub.connection as always None (it is set once subscribed).
    return cast("Connection | None", pubsub.connection)


def _unix(expires_at: int | float | datetime) -> int:
    if isinstance(expires_at, datetime):
        return int(expires_at.timestamp()) + 1
    return int(expires_at) + (0 if float(expires_at).is_integer() else 1)


async def publish_revocation(redis: Redis, session_id: UUID | str, expires_at: int | float | datetime) -> None:
    """Revoke `session_id` until `expires_at` (unix seconds or an aware datetime).

    Idempotent; a second call never shortens the recorded expiry (ZADD GT). Raises the Redis
    error when Redis is down: the caller decides whether that fails the request.
    """
    member = str(session_id)
    now = int(time.time())
    async with redis.pipeline(transaction=True) as pipe:
        pipe.zadd(REVOKED_SESSIONS_KEY, {member: _unix(expires_at)}, gt=True)
        pipe.zremrangebyscore(REVOKED_SESSIONS_KEY, "-inf", now)  # keep the set small
        pipe.publish(REVOCATIONS_CHANNEL, member)
        await pipe.execute()


def _session_key(member: bytes | str) -> UUID | str:
    text = member.decode() if isinstance(member, bytes) else member
    try:
        return UUID(text)
    except ValueError:
        return text  # not ours to judge; kept so a lookup by the same string still matches


class RevocationListener:
    """In-memory copy of the revoked sessions, kept current from Redis."""

    def __init__(
        self,
        redis: Redis,
        *,
        fallback_ttl_seconds: float = 960.0,
        prune_interval_seconds: float = 30.0,
        reconnect_delays: tuple[float, float] = (0.1, 2.0),
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.redis = redis
        # An announcement carries only the id; until the next reload we keep it this long
        # (access-token lifetime plus leeway), which is never shorter than the real expiry.
        self.fallback_ttl = fallback_ttl_seconds
        self.prune_interval = prune_interval_seconds
        self.reconnect_delays = reconnect_delays
        self._clock = clock
        self._revoked: dict[UUID | str, float] = {}
        self._connected = False
        self._loaded = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._last_prune = 0.0

    # -- the per-request check --------------------------------------------------------------
    def is_revoked(self, principal: HasSession) -> bool:
        session_id = principal.session_id
        return session_id is not None and session_id in self._revoked

    def is_session_revoked(self, session_id: UUID | str) -> bool:
        return session_id in self._revoked or _session_key(str(session_id)) in self._revoked

    def is_revoked_or_unknown(self, principal: HasSession) -> bool:
        """`is_revoked`, except that before the set was ever loaded a session's token cannot be
        judged: `DependencyUnavailable` (503) rather than trusting a token that may be revoked.
        Tokens without a session (service credentials) are never revoked this way."""
        if principal.session_id is None:
            return False
        if not self._loaded.is_set():
            raise DependencyUnavailable("Sign-in cannot be checked right now; please retry shortly.")
        return principal.session_id in self._revoked

    async def check(self) -> None:
        """Health probe: fails while the listener is cut off from Redis (its set may be stale)."""
        if not self._connected:
            raise ConnectionError("revocation listener is not connected to Redis")

    @property
    def connected(self) -> bool:
        return self._connected

    def __len__(self) -> int:
        return len(self._revoked)

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self, wait_seconds: float = 1.0) -> None:
        """Start listening; wait up to `wait_seconds` for the first load (not fatal if Redis is down)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="revocation-listener")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._loaded.wait(), wait_seconds)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._connected = False

    async def _run(self) -> None:
        delay = self.reconnect_delays[0]
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            pooled_retry: Retry | None = None
            try:
                await pubsub.subscribe(REVOCATIONS_CHANNEL)
                # The client retries a dropped connection once (mcm_shared.redis); here a silent
                # reconnect would skip what was announced meanwhile, so a drop must reach this loop.
                connection = _connection_of(pubsub)
                if connection is None:  # subscribe() connects; without a connection there is nothing to listen on
                    raise RedisError("revocation subscription has no connection")
                pooled_retry, connection.retry = connection.retry, _NO_RETRY
                await self._reload()
                if not self._connected:
                    logger.info("revocation listener connected", extra={"revoked_sessions": len(self._revoked)})
                self._connected = True
                self._loaded.set()
                delay = self.reconnect_delays[0]
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None and message.get("type") == "message":
                        self._add(message["data"], self._clock() + self.fallback_ttl)
                    self._maybe_prune()
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, TimeoutError) as exc:
                if self._connected:
                    logger.warning("revocation listener lost Redis; reconnecting", extra={"error": type(exc).__name__})
                self._connected = False
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.reconnect_delays[1])
            finally:
                connection = _connection_of(pubsub)
                if pooled_retry is not None and connection is not None:
                    connection.retry = pooled_retry  # it goes back to the pool
                with contextlib.suppress(Exception):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]  # redis-py leaves PubSub.aclose unannotated

    async def _reload(self) -> None:
        now = self._clock()
        # withscores=True always answers (member, score) pairs; redis-py types every reply shape at once.
        rows = cast(
            "list[tuple[Any, float]]",
            await self.redis.zrangebyscore(REVOKED_SESSIONS_KEY, now, "+inf", withscores=True),
        )
        for member, score in rows:
            self._add(member, float(score))

    def _add(self, member: bytes | str, expires_at: float) -> None:
        key = _session_key(member)
        if expires_at > self._revoked.get(key, 0.0):
            self._revoked[key] = expires_at

    def _maybe_prune(self) -> None:
        now = self._clock()
        if now - self._last_prune < self.prune_interval:
            return
        self._last_prune = now
        expired = [key for key, expires_at in self._revoked.items() if expires_at <= now]
        for key in expired:
            del self._revoked[key]
