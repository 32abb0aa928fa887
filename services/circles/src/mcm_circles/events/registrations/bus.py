"""Consumed from payments: `obligation.settled` and `obligation.overdue` for registrations.

settled  → a held seat becomes confirmed. If the hold had already expired, the person still gets
           a seat when one is free (and he has no other active registration); otherwise nobody is
           overbooked: the registration is cancelled with `refund: full` (`registration.cancelled`,
           reason `no_seat_after_payment`). Money arriving for a registration cancelled before it
           was paid is refunded the same way. Later instalments only clear the overdue flag.
overdue  → the registration is flagged for staff (`payment_overdue` in the participant list);
           nothing is cancelled automatically.
Handlers run inside the consumer's transaction (with the inbox row) and never commit.
"""

from __future__ import annotations

import logging
from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.clock import Clock
from mcm_circles.config import EventsSettings
from mcm_circles.events import bus as messages
from mcm_circles.events.enums import ACTIVE_STATUSES, CancelReason, Refund, RegistrationStatus
from mcm_circles.events.models import Event, Registration
from mcm_circles.events.registrations import seats
from mcm_circles.events.repository import RegistrationRepository
from mcm_shared.events import Envelope, Handler

logger = logging.getLogger("mcm.circles.events.payments")


async def _locked_registration(
    session: AsyncSession, envelope: Envelope, *, now: datetime, settings: EventsSettings
) -> tuple[Event, Registration] | None:
    if envelope.payload.get("kind") != "registration":
        return None  # circle dues and other obligations belong to other contexts
    registration_id = UUID(str(envelope.payload["registration_id"]))
    repository = RegistrationRepository(session)
    found = await repository.get(registration_id)
    if found is None:
        logger.warning("payment event for an unknown registration", extra={"registration_id": str(registration_id)})
        return None
    # Lock order as everywhere: the event first, then the registration.
    event = await seats.lock_event(session, found.event_id, now=now, settings=settings)
    registration = await repository.get(registration_id, lock=True)
    if registration is None:  # the row was found above and registrations are never deleted
        raise RuntimeError("registration is missing")
    if registration.payment_event_at is not None and envelope.occurred_at < registration.payment_event_at:
        logger.info("older payment event ignored", extra={"registration_id": str(registration_id)})
        return None
    registration.payment_event_at = envelope.occurred_at
    return event, registration


async def settle(session: AsyncSession, envelope: Envelope, *, now: datetime, settings: EventsSettings) -> None:
    located = await _locked_registration(session, envelope, now=now, settings=settings)
    if located is None:
        return
    event, registration = located
    registration.payment_overdue_at = None
    first_payment = registration.paid_at is None
    if first_payment:
        registration.paid_at = now
    status = registration.status
    if status == RegistrationStatus.PENDING_PAYMENT:
        seats.confirm_held(event, registration, now=now)
    elif status == RegistrationStatus.EXPIRED:
        await _late_payment(session, event, registration, now=now, settings=settings)
    elif status == RegistrationStatus.CANCELLED and first_payment and registration.refund != Refund.FULL:
        registration.refund = Refund.FULL
        await messages.registration_cancelled(
            session, registration, refund=Refund.FULL, reason=registration.cancel_reason or CancelReason.BY_PARTICIPANT
        )


async def _late_payment(
    session: AsyncSession, event: Event, registration: Registration, *, now: datetime, settings: EventsSettings
) -> None:
    other = await RegistrationRepository(session).active(event.id, registration.user_id)
    if other is None and seats.free_seats(event) > 0 and seats.promotable(event, now):
        await seats.take_seat(session, event, registration, now=now, settings=settings)  # paid → confirmed
        return
    registration.status = RegistrationStatus.CANCELLED
    registration.cancelled_at = now
    registration.cancel_reason = CancelReason.NO_SEAT_AFTER_PAYMENT
    registration.refund = Refund.FULL
    await session.flush()
    await messages.registration_cancelled(
        session, registration, refund=Refund.FULL, reason=CancelReason.NO_SEAT_AFTER_PAYMENT
    )


async def overdue(session: AsyncSession, envelope: Envelope, *, now: datetime, settings: EventsSettings) -> None:
    located = await _locked_registration(session, envelope, now=now, settings=settings)
    if located is None:
        return
    _, registration = located
    if registration.status in ACTIVE_STATUSES and registration.payment_overdue_at is None:
        registration.payment_overdue_at = now


def handlers(clock: Clock, settings: EventsSettings) -> dict[str, Handler]:
    """The consumer's handler table, bound to the app's clock and settings."""

    async def on_settled(session: AsyncSession, envelope: Envelope) -> None:
        await settle(session, envelope, now=clock.now(), settings=settings)

    async def on_overdue(session: AsyncSession, envelope: Envelope) -> None:
        await overdue(session, envelope, now=clock.now(), settings=settings)

    return {messages.OBLIGATION_SETTLED: on_settled, messages.OBLIGATION_OVERDUE: on_overdue}
