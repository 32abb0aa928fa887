"""Checkout Sessions we opened at Stripe, one open at a time per obligation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base, Record


class CheckoutSession(Record, Base):
    __tablename__ = "checkout_sessions"
    __table_args__ = (
        CheckConstraint("mode IN ('payment', 'subscription')", name="mode"),
        CheckConstraint("status IN ('open', 'complete', 'expired')", name="status"),
        # Two open sessions for one obligation could both be paid: the database refuses it.
        Index("uq_checkout_sessions_one_open", "obligation_id", unique=True, postgresql_where=text("status = 'open'")),
    )

    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    stripe_session_id: Mapped[str] = mapped_column(Text, unique=True)
    url: Mapped[str] = mapped_column(Text)
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    expires_at: Mapped[datetime]
