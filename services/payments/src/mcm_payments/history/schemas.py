from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel

from mcm_payments.obligations.schemas import Money


class Receipt(BaseModel):
    number: str
    url: str | None


class RefundEntry(BaseModel):
    id: uuid.UUID
    amount: Money
    status: str
    created_at: datetime
    succeeded_at: datetime | None


class PaymentEntry(BaseModel):
    id: uuid.UUID
    obligation_id: uuid.UUID
    amount: Money
    amount_refunded: Money
    source: str
    method: str
    paid_at: datetime
    receipt: Receipt
    refunds: list[RefundEntry] = []


class SubscriptionEntry(BaseModel):
    id: str
    obligation_id: uuid.UUID
    status: str
    current_period_end: datetime | None
    cancel_at_period_end: bool
    canceled_at: datetime | None
    paused: bool


class History(BaseModel):
    items: list[PaymentEntry]
    next_cursor: str | None = None
    subscriptions: list[SubscriptionEntry]
