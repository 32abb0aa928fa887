"""Exact limits for credential and code endpoints: one GCRA step in Redis per request.

GCRA (the generic cell rate algorithm) keeps one timestamp per key — the "theoretical arrival
time" — and allows `burst` requests at once, refilled at one per `period / burst`. The script
uses Redis' own clock, so every gateway replica agrees. These endpoints guard passwords and
codes, so when Redis cannot answer in time the caller gets a 503, never an unchecked attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis

_SCRIPT = """
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
local allow_at = new_tat - interval * burst
if now < allow_at then
  return {0, allow_at - now, 0, tat - now}
end
redis.call('SET', KEYS[1], new_tat, 'PX', new_tat - now + 1)
return {1, 0, math.floor((now - allow_at) / interval), new_tat - now}
"""


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    retry_after: float  # seconds
    remaining: int
    reset: float  # seconds until the bucket is full again


class GcraLimiter:
    def __init__(self, redis: Redis, *, prefix: str = "gateway:gcra:", timeout: float = 0.25) -> None:
        self.redis = redis
        self.prefix = prefix
        self.timeout = timeout
        self._script = redis.register_script(_SCRIPT)

    async def hit(self, key: str, *, limit: int, period_seconds: float) -> Decision:
        """Raises TimeoutError / RedisError / OSError when Redis cannot decide in time."""
        interval_ms = max(1, int(period_seconds * 1000 / limit))
        async with asyncio.timeout(self.timeout):
            allowed, retry_ms, remaining, reset_ms = await self._script(
                keys=[self.prefix + key], args=[interval_ms, limit]
            )
        return Decision(bool(allowed), int(retry_ms) / 1000, int(remaining), int(reset_ms) / 1000)


class LocalGcraLimiter:
    """The same algorithm in memory, for a single gateway run without Redis (development).

    At most `max_keys` keys are kept: a key is moved to the end when used, and the least
    recently used one makes room, so each attempt is O(1) however many addresses were seen.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000) -> None:
        self._clock = clock
        self.max_keys = max_keys
        self._tat: OrderedDict[str, float] = OrderedDict()

    async def hit(self, key: str, *, limit: int, period_seconds: float) -> Decision:
        now = self._clock()
        interval = period_seconds / limit
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + interval
        allow_at = new_tat - interval * limit
        if now < allow_at:
            return Decision(False, allow_at - now, 0, tat - now)
        self._tat[key] = new_tat
        self._tat.move_to_end(key)
        if len(self._tat) > self.max_keys:
            self._tat.popitem(last=False)
        return Decision(True, 0.0, int((now - allow_at) / interval), new_tat - now)
