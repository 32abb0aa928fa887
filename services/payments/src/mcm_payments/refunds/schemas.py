from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class RefundCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int | None = Field(default=None, gt=0, le=100_000_000, description="Minor units; default: all that is left")
    reason: str = Field(min_length=1, max_length=500)


class Refund(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    payment_id: uuid.UUID
    obligation_id: uuid.UUID
    amount: int
    currency: str
    status: str
    origin: str
    reason: str
    requested_by: str
    failure_reason: str | None
    created_at: datetime
    succeeded_at: datetime | None
