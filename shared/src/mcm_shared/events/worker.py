"""The background loop shared by the relay and the consumer: start, stop, back off, never die.

A worker repeats one `_cycle()`. Any exception is logged and followed by an exponential,
jittered pause, because the only sensible reaction to "PostgreSQL or Redis is down" in a
background task is to wait and try again; a crashed task would silently stop all events.
"""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import redis.exceptions as redis_errors
from sqlalchemy import exc as sa_errors

logger = logging.getLogger("mcm.events")


def backoff_delay(failures: int, *, initial: float, maximum: float) -> float:
    """Exponential backoff with full jitter, so replicas do not retry in lock step."""
    ceiling = min(maximum, initial * (2 ** max(0, failures - 1)))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311  # jitter, not a secret


def is_transient(exc: BaseException) -> bool:
    """True when `exc` means "a dependency is unreachable", not "this event is bad".

    The consumer never parks an event because of such an error: an outage must not move good
    events to the dead-letter stream.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (OSError, redis_errors.ConnectionError, redis_errors.TimeoutError)):
            return True
        if isinstance(current, (sa_errors.InterfaceError, sa_errors.TimeoutError)):
            return True
        if isinstance(current, sa_errors.DBAPIError) and current.connection_invalidated:
            return True
        # asyncpg reports "the database system is starting up / shutting down" this way.
        if type(current).__name__ in {"CannotConnectNowError", "ConnectionDoesNotExistError", "AdminShutdownError"}:
            return True
        # Only explicit causes (`raise ... from`, which SQLAlchemy and asyncpg use when they
        # wrap driver errors): a handler that raises its own error while handling an OSError
        # is a bad event, not an outage.
        current = current.__cause__
    return False


class BackgroundWorker:
    """Runs `_cycle()` until `stop()`; subclasses mark blocking waits with `_interruptible`."""

    kind = "worker"

    def __init__(self, *, backoff_initial: float, backoff_max: float) -> None:
        self.backoff_initial = backoff_initial
        self.backoff_max = backoff_max
        self._stop_requested = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # True only while waiting for work (a blocking read or an idle pause). stop() cancels
        # the task then, but never while an event is in hand.
        self._interruptible = False
        self.consecutive_failures = 0

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> asyncio.Task[None]:
        if self.running:
            raise RuntimeError(f"{self.kind} already running")
        self._stop_requested = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"mcm-{self.kind}")
        return self._task

    async def stop(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109  # the drain budget, part of the API
        """Finish the work in hand, then return. Cancels only if it overruns `timeout`
        (default fits inside Kubernetes' 30 s termination grace period)."""
        self._stop_requested.set()
        task = self._task
        if task is None or task.done():
            return
        if self._interruptible:
            task.cancel()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            logger.error("%s did not stop within %ss; cancelling", self.kind, timeout)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _cycle(self) -> None:
        raise NotImplementedError

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake at once when stop() is called."""
        self._interruptible = True
        try:
            await asyncio.wait_for(self._stop_requested.wait(), seconds)
        except TimeoutError:
            pass
        finally:
            self._interruptible = False

    async def _run(self) -> None:
        try:
            while not self.stopping:
                try:
                    await self._cycle()
                    self.consecutive_failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the loop must outlive any dependency failure
                    self.consecutive_failures += 1
                    delay = backoff_delay(
                        self.consecutive_failures, initial=self.backoff_initial, maximum=self.backoff_max
                    )
                    self._log_failure(exc, delay)
                    await self._pause(delay)
        except asyncio.CancelledError:
            if not self.stopping:
                raise  # cancelled by someone else (loop shutdown): let it propagate
        finally:
            self._interruptible = False

    def _log_failure(self, exc: Exception, delay: float) -> None:
        extra: dict[str, Any] = {"error": f"{type(exc).__name__}: {exc}"[:500], "retry_in_s": round(delay, 2)}
        # The traceback once per outage is useful; on every retry it only floods the log.
        logger.warning(
            "%s cycle failed (attempt %d); retrying",
            self.kind,
            self.consecutive_failures,
            exc_info=self.consecutive_failures == 1,
            extra=extra,
        )
