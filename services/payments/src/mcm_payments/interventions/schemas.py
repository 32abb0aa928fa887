from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from mcm_payments.history.schemas import PaymentEntry
from mcm_payments.obligations.schemas import Obligation


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OfflinePaymentCreate(_In):
    amount: int = Field(gt=0, le=100_000_000, description="Minor units, in the obligation's currency")
    method: Literal["cash", "cheque", "bank_transfer"]
    note: str | None = Field(default=None, max_length=1000)


class WaiveRequest(_In):
    reason: str = Field(min_length=1, max_length=1000)


class PauseRequest(_In):
    until: datetime
    reason: str = Field(min_length=1, max_length=1000)


class ResumeRequest(_In):
    reason: str | None = Field(default=None, max_length=1000)


class NoteCreate(_In):
    text: str = Field(min_length=1, max_length=4000)


class ResolveRequest(_In):
    note: str = Field(min_length=1, max_length=1000)


class OfflinePaymentResult(BaseModel):
    payment: PaymentEntry
    obligation: Obligation


class Note(BaseModel):
    text: str
    actor: str
    at: datetime


class QueueItem(BaseModel):
    obligation: Obligation
    attention: str | None
    last_note: Note | None
    last_reminder_at: datetime | None


class Queue(BaseModel):
    items: list[QueueItem]
    next_cursor: str | None = None


class ReminderQueued(BaseModel):
    obligation_id: uuid.UUID
    recipient_user_id: uuid.UUID
    queued_at: datetime
