"""The inbox as the API and the socket's `notification` frames show it (ARCHITECTURE §11)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    body: str
    link: str | None = Field(description="A path inside the app, e.g. /events/{id}")
    data: dict[str, Any]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    unread_count: int


class ReadIn(BaseModel):
    """`{ids: [...]}` marks those entries read, `{all: true}` every entry."""

    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] | None = Field(default=None, max_length=500)
    all: Literal[True] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ReadIn:
        if (self.ids is None) == (self.all is None):
            raise ValueError("give either ids or all: true")
        return self


class ReadResult(BaseModel):
    marked: int
    unread_count: int
