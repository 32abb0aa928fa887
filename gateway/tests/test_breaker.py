"""The circuit breaker always recovers: a half-open trial ends however it ends.

The hole (attacker review, issue 13): the trial slot was claimed in `allow()` and given back only
by `record_success`/`record_failure`. A trial connect that was *cancelled* — the readiness
probe's own timeout is shorter than the connect timeout — recorded neither, so the slot stayed
taken and the circuit stayed open for good, even once the upstream was back.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time

from mcm_gateway.upstream import CircuitBreaker


class BlackHole:
    """A port where connects hang (a listener that never accepts, its queue full), which can
    later be closed so a real server can take the port over."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(0)
        self.port = self.listener.getsockname()[1]
        self.fillers = []
        for _ in range(4):
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self.fillers.append(filler)

    def close(self) -> None:
        for sock in (*self.fillers, self.listener):
            sock.close()


async def test_a_circuit_recovers_after_the_probe_cancelled_its_half_open_trial(start_gateway, start_upstream, bearer):
    hole = BlackHole()
    try:
        gateway = await start_gateway(
            server="uvicorn",
            payments_url=f"http://127.0.0.1:{hole.port}",
            upstream_connect_timeout_seconds=0.4,
            # The probe gives up before its connect does: its trial connect is cancelled.
            health_check_timeout_seconds=0.1,
            upstream_health_interval_seconds=0.05,
            breaker_failure_threshold=1,
            breaker_open_seconds=0.1,
        )
        # A client's connect times out: the circuit opens.
        assert (await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code == 504
        await asyncio.sleep(0.6)  # the probe has claimed (and abandoned) half-open trials by now
    finally:
        hole.close()
    await start_upstream("payments", hole.port)
    deadline = time.monotonic() + 5
    statuses = []
    while time.monotonic() < deadline:
        statuses.append((await gateway.client.get("/api/v1/payments/history", headers=bearer)).status_code)
        if statuses[-1] == 200:
            break
        await asyncio.sleep(0.1)
    assert statuses[-1] == 200, f"the circuit never closed again: {statuses[-5:]}"
    assert not gateway.app.runtime.pools["payments"].breaker.known_down


async def test_an_abandoned_trial_frees_the_slot_after_its_connect_timeout():
    breaker = CircuitBreaker(1, 0.05, trial_seconds=0.1)
    breaker.record_failure(timed_out=True)
    assert not breaker.allow()  # open
    await asyncio.sleep(0.06)
    assert breaker.allow()  # half-open: this caller gets the trial...
    assert not breaker.allow()  # ...and nobody else while it runs
    # The trial is cancelled: neither success nor failure is recorded.
    await asyncio.sleep(0.11)
    assert breaker.allow()  # its time is up: another trial may go
    breaker.record_success()
    assert not breaker.known_down and breaker.allow() and breaker.allow()


def test_a_failed_trial_reopens_the_circuit_for_the_full_open_time():
    breaker = CircuitBreaker(2, 30, trial_seconds=1)
    breaker.record_failure(timed_out=True)
    assert breaker.allow()  # one failure is below the threshold
    breaker.record_failure(timed_out=True)
    assert not breaker.allow()
    assert 29 < breaker.retry_after() <= 30


def test_refused_connects_never_block_attempts():
    breaker = CircuitBreaker(1, 30, trial_seconds=1)
    breaker.record_failure(timed_out=False)
    assert breaker.known_down
    assert breaker.allow() and breaker.allow()  # a refusal costs ~0.1 ms: keep trying
