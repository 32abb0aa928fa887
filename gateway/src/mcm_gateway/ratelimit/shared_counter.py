"""General request limits counted by every gateway replica together, without a Redis round
trip on the request path.

Each replica counts hits in memory and, every `flush_interval` seconds, adds them to per-minute
counters in Redis in one pipelined round trip, reading back the totals of all replicas. A
request is judged on a sliding estimate (this window's total plus the previous window's,
weighted by how much of it still overlaps) — so the limit can be overshot by at most one flush
interval of traffic. When Redis is unreachable the replica keeps enforcing its own counts
(fail open only for the part other replicas contributed). Without Redis at all (development)
hits are counted straight into the in-memory windows, so limits expire on time.

Memory is bounded: every table holds at most `max_keys` keys (the oldest entry makes room; for
that key the limit starts afresh, the price of not letting a flood of addresses exhaust
memory), and entries of windows that ended are forgotten at each rollover by the background
task, off the request path. A request costs a few dict operations whatever the table size.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable

from redis.asyncio import Redis

logger = logging.getLogger("mcm.gateway.ratelimit")


class SharedWindowCounter:
    def __init__(
        self,
        redis: Redis | None,
        *,
        window_seconds: int = 60,
        flush_interval: float = 0.1,
        prefix: str = "gateway:rl:",
        timeout: float = 0.25,
        clock: Callable[[], float] = time.time,
        max_keys: int = 100_000,
    ) -> None:
        self.redis = redis
        self.window = window_seconds
        self.flush_interval = flush_interval
        self.prefix = prefix
        self.timeout = timeout
        self._clock = clock
        self.max_keys = max_keys
        self._pending: dict[str, int] = {}  # hits not yet in Redis
        self._current: dict[str, tuple[int, int]] = {}  # key → (window number, total in that window)
        self._previous: dict[str, tuple[int, int]] = {}
        self._blocked: dict[str, float] = {}  # key → refused until (clock time)
        self._task: asyncio.Task[None] | None = None
        self._last_window = 0
        self.redis_ok = redis is not None

    def hit(self, key: str, limit: int) -> float:
        """Count one request for `key`; 0 when allowed, else seconds until it would be."""
        now = self._clock()
        until = self._blocked.get(key)
        if until is not None:
            if until > now:
                return until - now
            del self._blocked[key]
        number, position = divmod(now, self.window)
        window = int(number)
        current = self._count(self._current, key, window) + self._pending.get(key, 0)
        # Right after a rollover, the last flushed "current" total is the previous window's.
        previous = self._count(self._previous, key, window - 1) or self._count(self._current, key, window - 1)
        overlap = 1.0 - position / self.window
        if current + previous * overlap + 1 > limit:
            retry = self._retry_after(limit, current, previous, position)
            self._store(self._blocked, key, now + retry)
            return retry
        if self.redis is None:
            self._add_local(key, window, 1)
        else:
            self._pending[key] = self._pending.get(key, 0) + 1
        return 0.0

    def _store(self, table: dict, key: str, value: object) -> None:  # type: ignore[type-arg]
        if key not in table and len(table) >= self.max_keys:
            del table[next(iter(table))]  # the oldest entry: dicts keep insertion order
        table[key] = value

    def _add_local(self, key: str, window: int, hits: int) -> None:
        """Count `hits` in this replica's own copy of `window` (no Redis, or Redis down)."""
        entry = self._current.get(key)
        if entry is not None and entry[0] == window:
            self._current[key] = (window, entry[1] + hits)
            return
        if entry is not None and entry[0] == window - 1:
            self._store(self._previous, key, entry)  # it still weighs in on the sliding estimate
        self._store(self._current, key, (window, hits))

    @staticmethod
    def _count(table: dict[str, tuple[int, int]], key: str, window: int) -> int:
        entry = table.get(key)
        return entry[1] if entry is not None and entry[0] == window else 0

    def _retry_after(self, limit: int, current: int, previous: int, position: float) -> float:
        left_in_window = self.window - position
        if current + 1 > limit:
            # Wait for the next window, and for enough of this one to slide out of the estimate.
            return left_in_window + self.window * max(0.0, 1.0 - (limit - 1) / max(current, 1))
        if previous <= 0:
            return 1.0
        needed = 1.0 - (limit - 1 - current) / previous  # share of the window that must pass
        return max(1.0, needed * self.window - position)

    # -- syncing with Redis ------------------------------------------------------------------
    async def start(self) -> None:
        # Also without Redis: the same task forgets ended windows, keeping memory bounded.
        if self._task is None:
            self._task = asyncio.create_task(self._flush_forever(), name="rate-limit-flush")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _flush_forever(self) -> None:
        while True:
            await asyncio.sleep(self.flush_interval)
            with contextlib.suppress(Exception):
                await self.flush()

    async def flush(self) -> None:
        pending, self._pending = self._pending, {}
        now = self._clock()
        window = int(now // self.window)
        if window != self._last_window:
            self._last_window = window
            self._forget_old(window)
        redis = self.redis
        if not pending or redis is None:
            return
        try:
            async with asyncio.timeout(self.timeout):
                pipe = redis.pipeline(transaction=False)
                keys = list(pending)
                for key in keys:
                    name = f"{self.prefix}{key}:{window}"
                    pipe.incrby(name, pending[key])
                    pipe.expire(name, self.window * 2 + 5)
                    pipe.get(f"{self.prefix}{key}:{window - 1}")
                results = await pipe.execute()
        except Exception as exc:
            if self.redis_ok:
                logger.warning(
                    "rate-limit counters cannot reach Redis; limiting per replica", extra={"error": type(exc).__name__}
                )
            self.redis_ok = False
            for key, hits in pending.items():
                self._add_local(key, window, hits)
            return
        self.redis_ok = True
        for index, key in enumerate(keys):
            total, previous = results[index * 3], results[index * 3 + 2]
            self._store(self._current, key, (window, int(total)))
            self._store(self._previous, key, (window - 1, int(previous or 0)))

    def _forget_old(self, window: int) -> None:
        for table in (self._current, self._previous):
            stale = [key for key, (number, _) in table.items() if number < window - 1]
            for key in stale:
                del table[key]
        now = self._clock()
        for key in [key for key, until in self._blocked.items() if until <= now]:
            del self._blocked[key]


def ceil_seconds(value: float) -> int:
    return max(1, math.ceil(value))
