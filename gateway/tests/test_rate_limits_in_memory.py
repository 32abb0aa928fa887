"""Rate limits counted in memory (no Redis, or Redis unreachable) expire on time and stay bounded.

The hole (attacker review, issue 13): without Redis no flush ever ran, so hits piled up in the
"not yet flushed" table for good: a key once limited stayed limited until the gateway restarted
(and every key ever seen stayed in memory).
"""

from __future__ import annotations

import asyncio

from mcm_gateway.ratelimit.gcra import LocalGcraLimiter
from mcm_gateway.ratelimit.shared_counter import SharedWindowCounter


class Clock:
    def __init__(self, now: float = 60_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_key_limited_in_memory_is_allowed_again_after_its_window():
    clock = Clock()
    counter = SharedWindowCounter(None, window_seconds=60, clock=clock)
    await counter.start()  # as RateLimiter.start does
    try:
        assert [counter.hit("ip:a", 3) for _ in range(3)] == [0, 0, 0]
        retry = counter.hit("ip:a", 3)
        assert retry > 0
        assert counter.hit("ip:b", 3) == 0  # others are not affected
        clock.now += retry + 0.01
        await asyncio.sleep(0.3)  # any background work has had its chance
        assert counter.hit("ip:a", 3) == 0
    finally:
        await counter.stop()


async def test_the_previous_window_still_weighs_in_after_a_rollover_in_memory():
    clock = Clock()
    counter = SharedWindowCounter(None, window_seconds=60, clock=clock)
    assert [counter.hit("k", 10) for _ in range(10)] == [0] * 10
    clock.now += 60  # the next window, at its very start: the last one still counts fully
    assert counter.hit("k", 10) > 0
    clock.now += 45  # three quarters of the previous window slid out: 10 * 0.25 = 2.5 count
    assert [counter.hit("k", 10) == 0 for _ in range(8)] == [True] * 7 + [False]


async def test_in_memory_counts_stay_bounded():
    clock = Clock()
    counter = SharedWindowCounter(None, window_seconds=60, clock=clock, max_keys=100)
    for n in range(1000):
        counter.hit(f"ip:{n}", 1)
        counter.hit(f"ip:{n}", 1)  # refused: a blocked entry too
    assert len(counter._current) <= 100 and len(counter._previous) <= 100 and len(counter._blocked) <= 100
    clock.now += 120
    await counter.flush()  # the periodic flush forgets windows that ended
    assert not counter._current and not counter._blocked


async def test_the_in_memory_credential_limiter_expires_and_stays_bounded():
    clock = Clock()
    limiter = LocalGcraLimiter(clock=clock, max_keys=50)
    decisions = [(await limiter.hit("login:ip:a", limit=2, period_seconds=60)).allowed for _ in range(3)]
    assert decisions == [True, True, False]
    clock.now += 30  # one interval (60 s / 2) later, one attempt is back
    assert (await limiter.hit("login:ip:a", limit=2, period_seconds=60)).allowed
    for n in range(500):
        await limiter.hit(f"login:ip:{n}", limit=2, period_seconds=60)
    assert len(limiter._tat) <= 50
