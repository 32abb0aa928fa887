"""How many sockets one user holds at once, across replicas: a Redis sorted set per user of
connection ids scored by when their claim lapses. A live socket renews its claim; one whose
process died stops counting once its claim lapses."""

from __future__ import annotations

import time
import uuid

from redis.asyncio import Redis

CONNECTIONS_PREFIX = "messaging:sockets:"


class ConnectionLimit:
    def __init__(self, redis: Redis, *, per_user: int, claim_seconds: int = 60) -> None:
        self.redis = redis
        self.per_user = per_user
        self.claim_seconds = claim_seconds

    def _key(self, user_id: uuid.UUID) -> str:
        return f"{CONNECTIONS_PREFIX}{user_id}"

    async def claim(self, user_id: uuid.UUID, connection_id: str) -> bool:
        """Count this socket (or renew its claim); False, and not counted, when over the limit."""
        key, now = self._key(user_id), time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zremrangebyscore(key, "-inf", now)
            pipe.zadd(key, {connection_id: now + self.claim_seconds})
            pipe.zrank(key, connection_id)
            pipe.expire(key, self.claim_seconds)
            _, _, rank, _ = await pipe.execute()
        # Claims are ordered by when they lapse, so a newcomer ranks last: the oldest keep their place.
        if rank is not None and rank >= self.per_user:
            await self.release(user_id, connection_id)
            return False
        return True

    async def release(self, user_id: uuid.UUID, connection_id: str) -> None:
        await self.redis.zrem(self._key(user_id), connection_id)

    async def renew(self, user_id: uuid.UUID, connection_id: str) -> None:
        key = self._key(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {connection_id: time.time() + self.claim_seconds}, xx=True)
            pipe.expire(key, self.claim_seconds)
            await pipe.execute()
