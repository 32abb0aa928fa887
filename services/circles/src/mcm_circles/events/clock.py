"""Time as a dependency: every rule that depends on "now" (seat holds, registration windows,
refund cut-offs) asks a `Clock`, so tests move time instead of sleeping.

The app keeps one clock at `app.state.events_clock` (set by `lifespan.events_hook`); HTTP routes
get it through `ClockDep` and the hold-expiry worker reads the same object.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from fastapi import Depends, Request


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, simulations)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)
        if self._now.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = moment


# async: FastAPI runs a plain `def` dependency in its thread pool, a hop on every request.
async def get_clock(request: Request) -> Clock:
    return getattr(request.app.state, "events_clock", None) or SystemClock()


ClockDep = Annotated[Clock, Depends(get_clock)]
