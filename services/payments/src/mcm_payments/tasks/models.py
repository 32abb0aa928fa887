"""Stripe side effects decided in a transaction and carried out after it (an outbox for
Stripe calls), so they survive a crash or a Stripe outage."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base

KINDS = (
    "cancel_subscription",
    "cancel_at_period_end",
    "pause_collection",
    "resume_collection",
    "pay_invoice_out_of_band",
    "expire_checkout_session",
    "submit_refund",
)


class StripeTask(Base):
    __tablename__ = "stripe_tasks"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'done', 'failed')", name="status"),
        CheckConstraint(f"kind IN ({', '.join(repr(k) for k in KINDS)})", name="kind"),
        Index("ix_stripe_tasks_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(Text)  # the Stripe id (or our refund id) acted on
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    obligation_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(8), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    done_at: Mapped[datetime | None]
