"""Time-driven work: releasing seat holds whose payment did not arrive, and completing events
that have ended.

`expire_holds(sessionmaker, now=...)` and `complete_ended_events(...)` do one pass each and are
what the background `EventsSweeper` calls every `sweep_interval_seconds`; tests call them directly
with a moved clock instead of sleeping. The same expiry is also applied lazily whenever a request
locks an event (`seats.lock_event`), so nobody ever sees a hold that should have run out.
Each event is handled in its own short transaction under its row lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.clock import Clock
from mcm_circles.config import EventsSettings
from mcm_circles.events.enums import EventStatus
from mcm_circles.events.registrations import seats
from mcm_circles.events.repository import EventRepository, RegistrationRepository
from mcm_shared.events.worker import BackgroundWorker

logger = logging.getLogger("mcm.circles.events.holds")

SessionFactory = Callable[[], AsyncSession]


async def expire_holds(sessionmaker: SessionFactory, *, now: datetime, settings: EventsSettings | None = None) -> int:
    """Release every hold that expired at or before `now`, refill seats from the waitlists;
    return how many holds expired."""
    settings = settings or EventsSettings()
    async with sessionmaker() as session:
        event_ids = await RegistrationRepository(session).events_with_expired_holds(now)
    expired = 0
    for event_id in event_ids:
        async with sessionmaker() as session:
            event = await EventRepository(session).lock(event_id)
            if event is None:
                continue
            expired += await seats.expire_due_holds(session, event, now=now, settings=settings)
            await session.commit()
    if expired:
        logger.info("seat holds expired", extra={"count": expired})
    return expired


async def complete_ended_events(sessionmaker: SessionFactory, *, now: datetime) -> int:
    async with sessionmaker() as session:
        event_ids = await EventRepository(session).events_to_complete(now)
    for event_id in event_ids:
        async with sessionmaker() as session:
            event = await EventRepository(session).lock(event_id)
            if event is not None and event.status == EventStatus.PUBLISHED and event.ends_at <= now:
                event.status = EventStatus.COMPLETED
                await session.commit()
    return len(event_ids)


class EventsSweeper(BackgroundWorker):
    kind = "events-sweeper"

    def __init__(self, sessionmaker: SessionFactory, clock: Clock, settings: EventsSettings) -> None:
        super().__init__(backoff_initial=0.5, backoff_max=30.0)
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.settings = settings

    async def sweep(self) -> None:
        now = self.clock.now()
        await expire_holds(self.sessionmaker, now=now, settings=self.settings)
        await complete_ended_events(self.sessionmaker, now=now)

    async def _cycle(self) -> None:
        await self.sweep()
        await self._pause(self.settings.sweep_interval_seconds)
