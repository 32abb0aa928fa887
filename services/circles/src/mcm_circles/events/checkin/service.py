"""At the event: staff check confirmed participants in (attendance) and can undo a mistake."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.config import EventsSettings
from mcm_circles.events.access import ensure_staff
from mcm_circles.events.enums import EventStatus, RegistrationStatus
from mcm_circles.events.errors import InvalidEventState, InvalidRegistrationState, RegistrationNotFound
from mcm_circles.events.models import Registration
from mcm_circles.events.repository import RegistrationRepository
from mcm_circles.events.service import visible_event
from mcm_shared.security import Principal


async def _target(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    ensure_staff(access)
    if access.event.status not in (EventStatus.PUBLISHED, EventStatus.COMPLETED):
        raise InvalidEventState(f"Nobody checks in to a {access.event.status} event.")
    registration = await RegistrationRepository(session).get(registration_id, lock=True)
    if registration is None or registration.event_id != event_id:
        raise RegistrationNotFound()
    return registration


async def check_in(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    registration = await _target(session, principal, event_id, registration_id, now=now, settings=settings)
    if registration.status != RegistrationStatus.CONFIRMED:
        raise InvalidRegistrationState(
            f"Only confirmed participants check in; this registration is {registration.status}."
        )
    if registration.checked_in_at is None:  # checking in twice keeps the first time
        registration.checked_in_at = now
        registration.checked_in_by = principal.user_id
    await session.commit()
    return registration


async def undo_check_in(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    registration = await _target(session, principal, event_id, registration_id, now=now, settings=settings)
    registration.checked_in_at = None
    registration.checked_in_by = None
    await session.commit()
    return registration
