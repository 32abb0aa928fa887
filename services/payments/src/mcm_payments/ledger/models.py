"""The money ledger: payments received (card or offline), and local mirrors of the Stripe
subscriptions and invoices that belong to obligations."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base, Record

OFFLINE_METHODS = ("cash", "cheque", "bank_transfer")


class Payment(Record, Base):
    __tablename__ = "payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        # The rule that makes over-refunding impossible, whatever runs concurrently.
        CheckConstraint("amount_refunded >= 0 AND amount_refunded <= amount", name="refund_within_amount"),
        CheckConstraint("source IN ('stripe', 'offline')", name="source"),
        CheckConstraint("method IN ('card', 'cash', 'cheque', 'bank_transfer')", name="method"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        Index("ix_payments_obligation", "obligation_id"),
        Index("ix_payments_user", "user_id", "paid_at"),
        Index("ix_payments_paid_at", "paid_at"),
    )

    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id", ondelete="RESTRICT"))
    user_id: Mapped[uuid.UUID]
    source: Mapped[str] = mapped_column(String(8))
    method: Mapped[str] = mapped_column(String(16))
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # Pending and succeeded refunds: reserved when a refund is requested, released if it fails.
    amount_refunded: Mapped[int] = mapped_column(BigInteger, server_default="0")
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(Text, unique=True)
    stripe_invoice_id: Mapped[str | None] = mapped_column(Text, unique=True)
    receipt_number: Mapped[str | None] = mapped_column(Text)
    receipt_url: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(Text)
    paid_at: Mapped[datetime]


class Subscription(Record, Base):
    __tablename__ = "subscriptions"
    __table_args__ = (Index("ix_subscriptions_obligation", "obligation_id"),)

    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id", ondelete="RESTRICT"))
    stripe_subscription_id: Mapped[str] = mapped_column(Text, unique=True)
    status: Mapped[str] = mapped_column(String(24))
    current_period_end: Mapped[datetime | None]
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, server_default="false")
    canceled_at: Mapped[datetime | None]
    paused: Mapped[bool] = mapped_column(Boolean, server_default="false")


class Invoice(Record, Base):
    __tablename__ = "invoices"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'paid', 'void', 'uncollectible')", name="status"),
        CheckConstraint("amount_due >= 0", name="amount_due_not_negative"),
        Index("ix_invoices_obligation", "obligation_id", "status"),
    )

    obligation_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("obligations.id", ondelete="RESTRICT"))
    stripe_invoice_id: Mapped[str] = mapped_column(Text, unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16))
    amount_due: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    # A charge was tried and failed: the invoice counts towards "overdue" while it stays open.
    attempted: Mapped[bool] = mapped_column(Boolean, server_default="false")
    paid_out_of_band: Mapped[bool] = mapped_column(Boolean, server_default="false")
    number: Mapped[str | None] = mapped_column(Text)
    hosted_invoice_url: Mapped[str | None] = mapped_column(Text)
    period_start: Mapped[datetime | None]
    period_end: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
