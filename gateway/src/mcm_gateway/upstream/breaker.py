"""A small circuit breaker: after repeated connect failures (or a failed health check) an
upstream is "known down" for a short while, and requests get a fast 503 instead of each one
paying for a connect attempt. After the pause one request is let through as a probe.
"""
from __future__ import annotations

import time


class CircuitBreaker:
    def __init__(self, failure_threshold: int = 3, open_seconds: float = 2.0) -> None:
        self.failure_threshold = failure_threshold
        self.open_seconds = open_seconds
        self._failures = 0
        self._open_until = 0.0
        self._probing = False

    @property
    def is_open(self) -> bool:
        return self._open_until > 0.0

    def allow(self) -> bool:
        """May a new connection be attempted now? Claims the probe slot when half-open."""
        if self._open_until == 0.0:
            return True
        if time.monotonic() < self._open_until or self._probing:
            return False
        self._probing = True
        return True

    def retry_after(self) -> float:
        return max(0.0, self._open_until - time.monotonic())

    def record_success(self) -> None:
        self._failures = 0
        self._open_until = 0.0
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        self._probing = False
        if self._failures >= self.failure_threshold or self._open_until:
            self._open_until = time.monotonic() + self.open_seconds

    def mark_down(self) -> None:
        """A health check found the upstream down: open at once."""
        self._failures = max(self._failures, self.failure_threshold)
        self._probing = False
        self._open_until = time.monotonic() + self.open_seconds
