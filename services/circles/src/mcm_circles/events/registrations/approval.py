"""The approval step of events that require it (`events.requires_approval`).

A member's registration becomes an application (`pending_approval`): it holds no seat and no
waitlist place, so capacity and the waitlist count only approved people. The event's managers
(as for every staff action on registrations, see `on_behalf`) approve it — it then takes the
path every registration takes: a seat (confirmed, or held for payment) when one is free and
nobody waits, else the end of the waitlist — or decline it with a reason (`declined`). Both
are audited and the member is told through auth. Cancelling an application (by the member or
on his behalf) frees nothing and tells payments nothing: nothing was held or owed.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.audit import service as audit
from mcm_circles.config import EventsSettings
from mcm_circles.events import bus as messages
from mcm_circles.events.access import EventAccess
from mcm_circles.events.enums import RegistrationStatus
from mcm_circles.events.errors import InvalidEventState, InvalidRegistrationState, RegistrationNotFound
from mcm_circles.events.models import Event, Registration
from mcm_circles.events.registrations import seats
from mcm_circles.events.repository import RegistrationRepository
from mcm_circles.events.service import managed_event
from mcm_shared.security import Principal


async def _application(session: AsyncSession, access: EventAccess[Event], registration_id: UUID) -> Registration:
    registration = await RegistrationRepository(session).get(registration_id, lock=True)
    if registration is None or registration.event_id != access.event.id:
        raise RegistrationNotFound()
    if registration.status != RegistrationStatus.PENDING_APPROVAL:
        raise InvalidRegistrationState(f"The registration is {registration.status}, not pending_approval.")
    return registration


async def approve(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    reason: str | None,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    if not seats.promotable(event, now):
        raise InvalidEventState("Applications are approved while the event is published and has not started.")
    registration = await _application(session, access, registration_id)
    await seats.seat_or_waitlist(session, event, registration, now=now, settings=settings)
    audit.record(
        session,
        audit.APPROVED,
        actor_user_id=access.viewer.user_id,
        subject_user_id=registration.user_id,
        reason=reason,
        details={"event_id": event.id, "registration_id": registration.id, "status": registration.status},
        at=now,
    )
    await messages.application_approved(session, event, registration)
    await session.commit()
    return registration


async def decline(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    reason: str,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    registration = await _application(session, access, registration_id)
    registration.status = RegistrationStatus.DECLINED
    registration.decline_reason = reason
    await session.flush()
    audit.record(
        session,
        audit.DECLINED,
        actor_user_id=access.viewer.user_id,
        subject_user_id=registration.user_id,
        reason=reason,
        details={"event_id": event.id, "registration_id": registration.id},
        at=now,
    )
    await messages.application_declined(session, event, registration)
    await session.commit()
    return registration
