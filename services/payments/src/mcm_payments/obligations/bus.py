"""Events about obligations: what payments publishes, and the circles events it consumes.

Published (stream `events:payments`): obligation.settled, obligation.overdue, obligation.paused,
obligation.waived, obligation.cancelled (only when the member stopped his dues himself: the other
cancellations come from circles, which knows), obligation.payment_failed, notification.requested.
Consumed (stream `events:circles`):
membership.payment_required, registration.payment_required, membership.ended,
registration.expired (registration.cancelled and event.cancelled: see refunds/bus.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.obligations.models import Obligation
from mcm_shared.events import Envelope, EventWriter

SOURCE_KEYS = {"membership": ("membership_id", "circle_id"), "registration": ("registration_id", "event_id")}


def reference(obligation: Obligation) -> dict[str, Any]:
    """How other services recognise the obligation: its kind and their own ids."""
    source_key, context_key = SOURCE_KEYS[obligation.kind]
    return {
        "obligation_id": obligation.id,
        "kind": obligation.kind,
        source_key: obligation.source_id,
        context_key: obligation.context_id,
        "user_id": obligation.user_id,
    }


async def publish_settled(session: AsyncSession, writer: EventWriter, obligation: Obligation, *, method: str) -> None:
    await writer.publish(
        session,
        "obligation.settled",
        {
            **reference(obligation),
            "amount_paid": obligation.amount_paid,
            "currency": obligation.currency,
            "method": method,
            "instalments": obligation.instalments,
            "instalments_paid": obligation.instalments_paid,
        },
        key=str(obligation.id),
    )


async def publish_overdue(session: AsyncSession, writer: EventWriter, obligation: Obligation) -> None:
    await writer.publish(
        session,
        "obligation.overdue",
        {
            **reference(obligation),
            "amount_due": obligation.amount_due,
            "currency": obligation.currency,
            "overdue_since": obligation.overdue_since,
        },
        key=str(obligation.id),
    )


async def publish_payment_failed(
    session: AsyncSession, writer: EventWriter, obligation: Obligation, *, attempt: int | None
) -> None:
    """A renewal charge failed: what happened, for messaging's notification centre to tell the
    member himself (urgent: emailed at once); his standing follows from Stripe's later news."""
    await writer.publish(
        session,
        "obligation.payment_failed",
        {
            **reference(obligation),
            "amount_due": obligation.amount_due,
            "currency": obligation.currency,
            "attempt": attempt,
        },
        key=str(obligation.id),
    )


async def publish_paused(session: AsyncSession, writer: EventWriter, obligation: Obligation, *, reason: str) -> None:
    await writer.publish(
        session,
        "obligation.paused",
        {
            **reference(obligation),
            "until": obligation.paused_until,
            "reason": reason,
        },
        key=str(obligation.id),
    )


async def publish_waived(
    session: AsyncSession, writer: EventWriter, obligation: Obligation, *, reason: str, amount_waived: int
) -> None:
    await writer.publish(
        session,
        "obligation.waived",
        {
            **reference(obligation),
            "reason": reason,
            "amount_waived": amount_waived,
            "currency": obligation.currency,
        },
        key=str(obligation.id),
    )


async def publish_cancelled(session: AsyncSession, writer: EventWriter, obligation: Obligation) -> None:
    await writer.publish(
        session,
        "obligation.cancelled",
        {
            **reference(obligation),
            "reason": obligation.cancel_reason,
            "currency": obligation.currency,
        },
        key=str(obligation.id),
    )


async def request_reminder(
    session: AsyncSession, writer: EventWriter, obligation: Obligation, *, requested_by: str
) -> None:
    # Auth owns contact details and sends the message; we only say to whom and what.
    await writer.publish(
        session,
        "notification.requested",
        {
            "recipient_user_ids": [obligation.user_id],
            "template": "payment_reminder",
            "data": {
                **reference(obligation),
                "amount_due": obligation.amount_due,
                "currency": obligation.currency,
                "status": obligation.status,
                "overdue_since": obligation.overdue_since,
                "requested_by": requested_by,
            },
        },
        key=str(obligation.id),
    )


# -- consumed ----------------------------------------------------------------------------------
class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")


class MembershipPaymentRequired(_Payload):
    membership_id: uuid.UUID
    circle_id: uuid.UUID
    user_id: uuid.UUID
    amount: int = Field(gt=0, le=10_000_000)
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    interval: Literal["month"] = "month"


class RegistrationPaymentRequired(_Payload):
    registration_id: uuid.UUID
    event_id: uuid.UUID
    user_id: uuid.UUID
    amount: int = Field(gt=0, le=100_000_000)
    currency: str = Field(pattern=r"^[A-Za-z]{3}$")
    instalments: int = Field(default=1, ge=1, le=36)


class MembershipEnded(_Payload):
    membership_id: uuid.UUID
    circle_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    reason: str | None = None


class RegistrationExpired(_Payload):
    registration_id: uuid.UUID
    event_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None


def parse(model: type[_Payload], envelope: Envelope) -> Any:
    """Validate a consumed payload; a bad one raises (the consumer retries, then parks it)."""
    return model.model_validate(envelope.payload)


def occurred(envelope: Envelope) -> datetime:
    return envelope.occurred_at
