from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict


class CheckoutCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    obligation_id: uuid.UUID


class Checkout(BaseModel):
    """Where to send the member's browser: a Stripe Checkout page, or (for an overdue
    subscription) the hosted page of the invoice whose payment failed."""

    url: str
    mode: Literal["payment", "subscription", "invoice"]
    obligation_id: uuid.UUID
    session_id: str | None = None
    expires_at: datetime | None = None
