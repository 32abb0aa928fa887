"""Cancelling a whole event: every registration is cancelled, payments is told once with
`event.cancelled` (it refunds whatever was paid for the event), and everyone registered or
waiting is notified. Drafts can be cancelled too (nobody to tell).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.config import EventsSettings
from mcm_circles.events import bus as messages
from mcm_circles.events.enums import CancelReason, EventStatus, Refund, RegistrationStatus
from mcm_circles.events.errors import InvalidEventState
from mcm_circles.events.models import Event
from mcm_circles.events.repository import RegistrationRepository
from mcm_circles.events.service import managed_event
from mcm_shared.security import Principal


async def cancel_event(
    session: AsyncSession, principal: Principal, event_id: UUID, *, reason: str, now: datetime, settings: EventsSettings
) -> Event:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    if event.status not in (EventStatus.DRAFT, EventStatus.PUBLISHED):
        raise InvalidEventState(f"A {event.status} event cannot be cancelled.")
    registrations = await RegistrationRepository(session).active_for_event(event.id)
    for registration in registrations:
        registration.status = RegistrationStatus.CANCELLED
        registration.waitlist_position = None
        registration.hold_expires_at = None
        registration.cancelled_at = now
        registration.cancel_reason = CancelReason.EVENT_CANCELLED
        # Whatever was paid comes back in full: the organisation cancelled, not the participant.
        registration.refund = Refund.FULL if registration.paid_at is not None else Refund.NONE
    event.seats_taken = event.confirmed_count = event.waitlist_count = 0
    event.status = EventStatus.CANCELLED
    event.cancelled_at = now
    event.cancel_reason = reason or None
    await session.flush()
    if access.event.published_at is not None:
        await messages.event_cancelled(session, event, [registration.user_id for registration in registrations])
    await session.commit()
    return event
