"""Refunds of payments: requested here (staff, event or registration cancellation) or seen at Stripe."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base, Record

# requested: reserved here, not yet accepted by Stripe · pending: accepted, not final ·
# succeeded / failed / canceled: final. Status only ever moves forward in this order.
STATUSES = ("requested", "pending", "succeeded", "failed", "canceled")
# staff: by hand · event_cancelled / registration_cancelled: circles said so · stripe: made in the
# Stripe dashboard · cancelled_obligation: money that arrived after the obligation was closed.
ORIGINS = ("staff", "event_cancelled", "registration_cancelled", "stripe", "cancelled_obligation")
RANK = {"requested": 0, "pending": 1, "succeeded": 2, "failed": 2, "canceled": 2}


class Refund(Record, Base):
    __tablename__ = "refunds"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("status IN ('requested', 'pending', 'succeeded', 'failed', 'canceled')", name="status"),
        CheckConstraint(f"origin IN ({', '.join(repr(o) for o in ORIGINS)})", name="origin"),
        Index("ix_refunds_payment", "payment_id"),
        Index("ix_refunds_created", "created_at"),
    )

    payment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("payments.id", ondelete="RESTRICT"))
    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id", ondelete="RESTRICT"))
    user_id: Mapped[uuid.UUID]
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), server_default="requested")
    origin: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(Text)
    stripe_refund_id: Mapped[str | None] = mapped_column(Text, unique=True)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    succeeded_at: Mapped[datetime | None]
