"""Refund events: publishes refund.succeeded; consumes event.cancelled (refund that event) and
registration.cancelled (refund one registration in full, or stop collecting without a refund)."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.models import Payment
from mcm_payments.obligations.bus import reference
from mcm_payments.obligations.models import Obligation
from mcm_payments.refunds.models import Refund
from mcm_shared.events import EventWriter


class EventCancelled(BaseModel):
    model_config = ConfigDict(extra="ignore")
    event_id: uuid.UUID


class RegistrationCancelled(BaseModel):
    """`refund: full` — everything paid goes back; `none` — nothing does, nothing more is collected.
    Only the registration and the refund decision are required: `amount`/`currency` (circles'
    price) are recorded for staff, the ledger decides what is refunded."""

    model_config = ConfigDict(extra="ignore")
    registration_id: uuid.UUID
    event_id: uuid.UUID | None = None
    user_id: uuid.UUID | None = None
    refund: Literal["full", "none"]
    reason: str | None = None
    amount: int | None = None
    currency: str | None = None


async def publish_succeeded(
    session: AsyncSession, writer: EventWriter, refund: Refund, payment: Payment, obligation: Obligation
) -> None:
    await writer.publish(
        session,
        "refund.succeeded",
        {
            **reference(obligation),
            "refund_id": refund.id,
            "payment_id": payment.id,
            "amount": refund.amount,
            "currency": refund.currency,
            "reason": refund.reason,
            "origin": refund.origin,
            "payment_refunded_in_full": payment.amount_refunded >= payment.amount,
        },
        key=str(obligation.id),
    )
