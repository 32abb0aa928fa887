"""A fixed-window counter in Redis, used by every code and message endpoint."""

from __future__ import annotations

from redis.asyncio import Redis

from mcm_shared.errors import RateLimited


async def hit(redis: Redis, key: str, *, limit: int, window_seconds: int, detail: str) -> None:
    """Count one use of `key`; refuse with 429 + Retry-After once `limit` is passed."""
    async with redis.pipeline(transaction=True) as pipe:
        # SET NX starts the window once (Redis 6 has no EXPIRE NX); INCR counts within it.
        pipe.set(key, 0, ex=window_seconds, nx=True)
        pipe.incr(key)
        pipe.ttl(key)
        _, count, ttl = await pipe.execute()
    if count > limit:
        raise RateLimited(ttl if ttl > 0 else window_seconds, detail)
