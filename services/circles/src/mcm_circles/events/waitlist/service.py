"""Staff tools for the waitlist: see it in order, move someone, promote someone by hand.

Automatic promotion (a seat frees → the first waiting person gets it) lives in `seats.py` and
runs wherever a seat frees. By hand, a manager may give a free seat to someone other than the
first in line, or — with `extend_capacity` — add one seat for that person when none is free.
Never more seats than the capacity: without a free seat and without `extend_capacity`, 409.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.config import EventsSettings
from mcm_circles.events.access import ensure_staff
from mcm_circles.events.enums import EventStatus, RegistrationStatus
from mcm_circles.events.errors import EventFull, InvalidEventState, InvalidRegistrationState, RegistrationNotFound
from mcm_circles.events.models import Event, Registration
from mcm_circles.events.registrations import seats
from mcm_circles.events.repository import RegistrationRepository
from mcm_circles.events.service import managed_event, visible_event
from mcm_shared.security import Principal


async def waitlist(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    now: datetime,
    settings: EventsSettings,
    limit: int,
    after: int,
) -> tuple[Event, list[Registration], bool]:
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    ensure_staff(access)
    rows = await RegistrationRepository(session).waitlist(event_id, limit=limit + 1, after=after)
    return access.event, rows, access.can_manage


async def _waiting(session: AsyncSession, event: Event, registration_id: UUID) -> Registration:
    registration = await RegistrationRepository(session).get(registration_id, lock=True)
    if registration is None or registration.event_id != event.id:
        raise RegistrationNotFound()
    if registration.status != RegistrationStatus.WAITLISTED:
        raise InvalidRegistrationState(f"The registration is {registration.status}, not waitlisted.")
    return registration


async def move(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    position: int,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    registration = await _waiting(session, access.event, registration_id)
    await seats.move_in_waitlist(session, access.event, registration, position)
    await session.commit()
    return registration


async def promote(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    extend_capacity: bool,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    if event.status != EventStatus.PUBLISHED or now >= event.ends_at:
        raise InvalidEventState("Only a published event that has not ended can take people from its waitlist.")
    registration = await _waiting(session, event, registration_id)
    if seats.free_seats(event) <= 0:
        if not extend_capacity:
            raise EventFull("No seat is free. Set extend_capacity to add one for this person.")
        event.capacity += 1
    await seats.promote(session, event, registration, now=now, settings=settings)
    await session.commit()
    return registration
