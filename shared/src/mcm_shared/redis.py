"""Redis client construction with short socket timeouts, so a dead Redis fails fast."""
from __future__ import annotations

from redis.asyncio import Redis
from redis.backoff import NoBackoff
from redis.retry import Retry


def make_redis(url: str, *, socket_timeout: float = 1.0, decode_responses: bool = False, max_connections: int = 100) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        decode_responses=decode_responses,
        max_connections=max_connections,
        health_check_interval=30,
        retry=Retry(NoBackoff(), 0),
    )
