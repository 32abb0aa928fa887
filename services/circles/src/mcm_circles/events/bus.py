"""What the events context tells other services, through the service's outbox (`mcm_circles.bus`).

Published (stream `events:circles`):
  registration.payment_required  {registration_id, event_id, user_id, amount, currency, instalments,
                                  hold_expires_at, title}          → payments opens an obligation
  registration.expired           {registration_id, event_id, user_id}  → payments voids it
  registration.cancelled         {registration_id, event_id, user_id, refund: full|none, reason,
                                  amount, currency}                → payments refunds (or not)
  event.cancelled                {event_id, title, reason, cancelled_at}  → payments refunds all paid
  registration.promoted          {registration_id, event_id, user_id, title, status, hold_expires_at}
                                  → messaging tells him (a place opened up on the waitlist)
  notification.requested         (via bus.notify) templates event_cancelled, generic
                                  (generic also tells a member what staff did for him: registered or
                                  cancelled on his behalf, his application approved or declined)

Consumed (stream `events:payments`, see `payments.py`): obligation.settled, obligation.overdue.
Every publish happens inside the caller's transaction, so a message exists iff its change does.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.events.enums import Refund
from mcm_circles.events.locked import LockedEvent
from mcm_circles.events.models import Event, Registration
from mcm_circles.outbox import WRITER, notify, publish

PAYMENT_REQUIRED = "registration.payment_required"
REGISTRATION_EXPIRED = "registration.expired"
REGISTRATION_CANCELLED = "registration.cancelled"
EVENT_CANCELLED = "event.cancelled"
REGISTRATION_PROMOTED = "registration.promoted"
OBLIGATION_SETTLED = "obligation.settled"
OBLIGATION_OVERDUE = "obligation.overdue"


def _ids(registration: Registration | Row[Any]) -> dict[str, uuid.UUID]:
    return {"registration_id": registration.id, "event_id": registration.event_id, "user_id": registration.user_id}


def payment_required_payload(registration: Any) -> dict[str, Any]:
    """The payload of `registration.payment_required` but the event's title (which the caller adds)."""
    return {  # the ids spelt out (not `_ids`): tests/contracts reads the message's fields from this literal
        "registration_id": registration.id,
        "event_id": registration.event_id,
        "user_id": registration.user_id,
        "amount": registration.amount,
        "currency": registration.currency,
        "instalments": registration.instalments,
        "hold_expires_at": registration.hold_expires_at,
    }


async def payment_required(
    session: AsyncSession, event: Event | LockedEvent, registration: Registration | Row[Any]
) -> None:
    await publish(
        session, PAYMENT_REQUIRED, {**payment_required_payload(registration), "title": event.title}, key=event.id
    )


# The at-once statement's `message_*` parameters when no held seat is expected: all NULL.
NO_MESSAGE_ROW: dict[str, Any] = dict.fromkeys(
    f"message_{name}" for name in ("id", "stream", "type", "key", "producer", "payload", "request_id", "at")
)


def payment_required_row(registration: Any) -> dict[str, Any]:
    """The outbox row of `registration.payment_required` for a registration not written yet, as
    the at-once statement's `message_*` parameters (repository.py adds the title under the lock);
    the same envelope `payment_required` publishes."""
    envelope = WRITER.envelope(PAYMENT_REQUIRED, payment_required_payload(registration), key=str(registration.event_id))
    return {
        "message_id": envelope.id,
        "message_stream": WRITER.stream,
        "message_type": envelope.type,
        "message_key": envelope.key,
        "message_producer": envelope.producer,
        "message_payload": json.dumps(envelope.payload),  # jsonb parameters go as text (driver.py)
        "message_request_id": envelope.request_id,
        "message_at": envelope.occurred_at,
    }


async def registration_expired(session: AsyncSession, event: Event, registration: Registration) -> None:
    await publish(session, REGISTRATION_EXPIRED, _ids(registration), key=event.id)
    await notify(
        session,
        [registration.user_id],
        "generic",
        {
            "subject": f"Your seat hold expired: {event.title}",
            "message": f'Your reserved seat for "{event.title}" was released because the payment did not '
            "arrive in time. You can register again if seats are still free.",
            "event_id": str(event.id),
        },
    )


async def registration_cancelled(
    session: AsyncSession, registration: Registration, *, refund: Refund, reason: str
) -> None:
    await publish(
        session,
        REGISTRATION_CANCELLED,
        {
            **_ids(registration),
            "refund": refund,
            "reason": reason,
            "amount": registration.amount,
            "currency": registration.currency,
        },
        key=registration.event_id,
    )


async def event_cancelled(session: AsyncSession, event: Event, recipients: list[uuid.UUID]) -> None:
    await publish(
        session,
        EVENT_CANCELLED,
        {
            "event_id": event.id,
            "title": event.title,
            "reason": event.cancel_reason or "",
            "cancelled_at": event.cancelled_at,
        },
        key=event.id,
    )
    await notify(session, recipients, "event_cancelled", {"title": event.title, "event_id": str(event.id)})


async def promoted(session: AsyncSession, event: Event, registration: Registration) -> None:
    """What happened, not whom to email: messaging's notification centre decides how he hears of it."""
    await publish(
        session,
        REGISTRATION_PROMOTED,
        {
            **_ids(registration),
            "title": event.title,
            "status": registration.status,
            "hold_expires_at": registration.hold_expires_at,
        },
        key=event.id,
    )


def _status_line(registration: Registration) -> str:
    if registration.status == "waitlisted":
        return f"You are number {registration.waitlist_position} on the waitlist."
    if registration.status == "pending_payment":
        return "A seat is held for you until the payment arrives."
    return "Your seat is confirmed."


async def staff_registered(session: AsyncSession, event: Event, registration: Registration) -> None:
    """The member learns that staff registered him (or approved his application), and where he stands."""
    await notify(
        session,
        [registration.user_id],
        "generic",
        {
            "subject": f"You are registered: {event.title}",
            "message": f'You are registered for "{event.title}". {_status_line(registration)}',
            "event_id": str(event.id),
            "status": registration.status,
        },
    )


async def application_approved(session: AsyncSession, event: Event, registration: Registration) -> None:
    await notify(
        session,
        [registration.user_id],
        "generic",
        {
            "subject": f"Your application was approved: {event.title}",
            "message": f'Your application for "{event.title}" was approved. {_status_line(registration)}',
            "event_id": str(event.id),
            "status": registration.status,
        },
    )


async def application_declined(session: AsyncSession, event: Event, registration: Registration) -> None:
    await notify(
        session,
        [registration.user_id],
        "generic",
        {
            "subject": f"Your application was declined: {event.title}",
            "message": f'Your application for "{event.title}" was declined: {registration.decline_reason}',
            "event_id": str(event.id),
            "status": registration.status,
        },
    )


async def staff_cancelled(session: AsyncSession, event: Event, registration: Registration) -> None:
    refund = (
        "What you paid is refunded in full."
        if registration.refund == Refund.FULL
        else "Nothing is refunded."
        if registration.paid_at is not None
        else "Nothing was paid, so nothing is owed."
    )
    await notify(
        session,
        [registration.user_id],
        "generic",
        {
            "subject": f"Your registration was cancelled: {event.title}",
            "message": f'The organisers cancelled your registration for "{event.title}". {refund}',
            "event_id": str(event.id),
            "refund": registration.refund,
        },
    )
