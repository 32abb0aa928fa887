"""A small circuit breaker: after repeated connect failures an upstream is "known down".

What that means depends on how it failed. When connects *time out* (an unreachable host), each
attempt would cost a client the whole connect timeout, so the circuit opens: requests get a
fast 503 without trying, and after `open_seconds` one request is let through as a trial. When
connects are *refused* (nothing listens: the service is restarting), a retry costs ~0.1 ms, so
every request still tries — the first one after the service is back gets through — and a
refusal while known down is answered 503 instead of 502.

The half-open trial always ends: by `record_success`, by `record_failure`, or — when whoever
claimed it was cancelled (a probe's own timeout, a client gone) and recorded neither — by its
own deadline, `trial_seconds` (the connect timeout) after it began. Claiming the trial simply
keeps the circuit closed to everyone else until then, so no flag can be left behind.
"""

from __future__ import annotations

import time


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 3, open_seconds: float = 2.0, *, trial_seconds: float = 1.0) -> None:
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self.trial_seconds = trial_seconds
        self._failures = 0
        self._open_until = 0.0
        self._timed_out = False  # the failures that opened it were timeouts, not refusals

    @property
    def known_down(self) -> bool:
        return self._failures >= self.failure_threshold

    def allow(self) -> bool:
        """May a new connection be attempted now? Claims the trial when half-open."""
        if not self.known_down or not self._timed_out:
            return True
        now = time.monotonic()
        if now < self._open_until:
            return False
        # Half-open: this caller's connect is the trial; everyone else waits for its outcome,
        # or for its connect timeout if it never reports one.
        self._open_until = now + self.trial_seconds
        return True

    def retry_after(self) -> float:
        return max(0.0, self._open_until - time.monotonic())

    def record_success(self) -> None:
        self._failures = 0
        self._open_until = 0.0
        self._timed_out = False

    def record_failure(self, *, timed_out: bool = False) -> None:
        self._failures += 1
        self._timed_out = timed_out
        if self.known_down:
            self._open_until = time.monotonic() + self.open_seconds
