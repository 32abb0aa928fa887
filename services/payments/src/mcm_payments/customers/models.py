"""The Stripe customer of a user: one per user, and nothing but the link (no contact details)."""
from __future__ import annotations

import uuid

from sqlalchemy import Text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base, Record


class Customer(Record, Base):
    __tablename__ = "customers"

    user_id: Mapped[uuid.UUID] = mapped_column(unique=True)
    stripe_customer_id: Mapped[str] = mapped_column(Text, unique=True)
