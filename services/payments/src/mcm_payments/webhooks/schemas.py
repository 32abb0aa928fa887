from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
