"""The Stripe customer of a user: one current per user, and nothing but the link (no contact details).

A customer Stripe no longer knows (deleted in the dashboard, or a restarted stand-in) is replaced by
a new one; the old row stays, marked `replaced_at`, so late webhooks about the old customer are
still attributed to the user."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Index, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base, Record


class Customer(Record, Base):
    __tablename__ = "customers"
    __table_args__ = (
        # One current customer per user; replaced ones are kept as history.
        Index("uq_customers_current_user", "user_id", unique=True, postgresql_where=text("replaced_at IS NULL")),
    )

    user_id: Mapped[uuid.UUID]
    stripe_customer_id: Mapped[str] = mapped_column(Text, unique=True)
    replaced_at: Mapped[datetime | None]
