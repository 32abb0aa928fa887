from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class WebhookAck(BaseModel):
    received: bool = True
    duplicate: bool


class WebhookRecord(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    stripe_event_id: str
    type: str
    object_id: str | None
    event_created: datetime
    received_at: datetime
    processed_at: datetime | None
    outcome: str | None
    attempts: int
    last_error: str | None


class FlaggedPage(BaseModel):
    items: list[WebhookRecord]
    next_cursor: str | None = None


class RetryRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")  # as every request body: an unknown field is refused, not ignored
    reason: str | None = Field(default=None, max_length=1000, description="Why it is retried (kept in the audit)")


class RetryResult(BaseModel):
    result: Literal["processed", "still_failing", "already_processed"] = Field(
        description="processed: applied (or ignored) now · still_failing: flagged again or failed (see reason) · "
        "already_processed: it had been applied before; nothing was done again"
    )
    outcome: str | None
    reason: str | None = None
    event: WebhookRecord
