"""Staff registering a member, or cancelling his registration, on his behalf.

Who: the event's managers (`access.ensure_manager`: ptm, admin, facilitators of an attached
circle) — the people the existing rules already give powers over registrations (waitlist moves,
promotions, care-team assignments). Other event staff and everyone else: 403 when they can see
the event, 404 when they cannot.

The rules are the member's own: the same registration window, one active registration per
person, the same seat-or-waitlist decision and payment hold, and on cancellation the same
refund rule (`service.refund_for`). Two differences, both staff decisions: the event's
requirements are not evaluated (staff vouch for the person; his answers are his to give), and
on an event that requires approval the staff's registration is the approval. Every action is
audited (`mcm_circles.audit`) and the member is told through auth (`notification.requested`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.audit import service as audit
from mcm_circles.config import EventsSettings
from mcm_circles.events import bus as messages
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.enums import CancelReason, EventStatus
from mcm_circles.events.errors import AlreadyRegistered, InvalidEventState, RegistrationNotFound, field_error
from mcm_circles.events.models import Registration
from mcm_circles.events.registrations import seats
from mcm_circles.events.registrations.service import check_open, refund_for, registration_values, withdraw
from mcm_circles.events.repository import RegistrationRepository
from mcm_circles.events.service import managed_event
from mcm_shared.security import Principal


async def register_on_behalf(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    user_id: UUID,
    reason: str | None,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    check_open(event, now)
    if not await MemberDirectory(session).exists(user_id):
        raise field_error(["body", "user_id"], "no member with that id")
    existing = await RegistrationRepository(session).active(event.id, user_id)
    if existing is not None:
        raise AlreadyRegistered(existing.id)
    registration = Registration(**registration_values(event, user_id))
    await seats.seat_or_waitlist(session, event, registration, now=now, settings=settings)
    audit.record(
        session,
        audit.REGISTERED_ON_BEHALF,
        actor_user_id=access.viewer.user_id,
        subject_user_id=user_id,
        reason=reason,
        details={"event_id": event.id, "registration_id": registration.id, "status": registration.status},
        at=now,
    )
    await messages.staff_registered(session, event, registration)
    await session.commit()
    return registration


async def cancel_on_behalf(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    user_id: UUID,
    reason: str | None,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    """Cancel the member's active registration with his own refund rule; the answer carries
    `refund` (full | none) and `cancel_reason` `by_staff`."""
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    registration = await RegistrationRepository(session).active(event.id, user_id)
    if registration is None:
        raise RegistrationNotFound()
    if event.status == EventStatus.COMPLETED or now >= event.ends_at:
        raise InvalidEventState("The event is over; the registration can no longer be cancelled.")
    refund = refund_for(event, registration, now=now, settings=settings)
    previous = registration.status
    await withdraw(session, event, registration, now=now, reason=CancelReason.BY_STAFF, refund=refund)
    await seats.fill_free_seats(session, event, now=now, settings=settings)
    audit.record(
        session,
        audit.CANCELLED_ON_BEHALF,
        actor_user_id=access.viewer.user_id,
        subject_user_id=user_id,
        reason=reason,
        details={
            "event_id": event.id,
            "registration_id": registration.id,
            "previous_status": previous,
            "refund": refund,
        },
        at=now,
    )
    await messages.staff_cancelled(session, event, registration)
    await session.commit()
    return registration
