"""Redis client construction with short socket timeouts, so a dead Redis fails fast."""

from __future__ import annotations

from redis.asyncio import Redis
from redis.asyncio.retry import Retry  # the asyncio client needs the asyncio Retry (awaits each try)
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError


# One immediate retry on a connection error: after Redis restarts, pooled connections are dead
# and the first command on each would fail. Timeouts are not retried, so a hung Redis still
# costs at most one socket timeout.
def _retry_stale_connection() -> Retry:
    return Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,))


def make_redis(
    url: str, *, socket_timeout: float = 1.0, decode_responses: bool = False, max_connections: int = 100
) -> Redis:
    return Redis.from_url(
        url,
        socket_timeout=socket_timeout,
        socket_connect_timeout=socket_timeout,
        decode_responses=decode_responses,
        max_connections=max_connections,
        health_check_interval=30,
        retry=_retry_stale_connection(),
    )
