"""Request and response bodies of conversations and messages (ARCHITECTURE §11)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcm_shared.security import Role

# The hard ceiling of the schema; `MESSAGE_MAX_LENGTH` (config.py) is the limit that applies.
BODY_CEILING = 20_000


class EveryoneAudience(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["everyone"]


class RoleAudience(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["role"]
    role: Role


class CircleAudience(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["circle"]
    circle_id: uuid.UUID


class EventAudience(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scope: Literal["event"]
    event_id: uuid.UUID


Audience = Annotated[EveryoneAudience | RoleAudience | CircleAudience | EventAudience, Field(discriminator="scope")]


class StartDirect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["direct"]
    user_id: uuid.UUID


class StartAnnouncement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["announcement"]
    audience: Audience
    title: str | None = Field(default=None, max_length=200)


StartConversation = Annotated[StartDirect | StartAnnouncement, Field(discriminator="kind")]


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(max_length=BODY_CEILING, description="Plain text; never interpreted as HTML.")


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    author_id: uuid.UUID | None
    body: str
    created_at: datetime
    edited_at: datetime | None


class ConversationOut(BaseModel):
    id: uuid.UUID
    kind: Literal["direct", "circle", "event", "announcement"]
    circle_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    audience: EveryoneAudience | RoleAudience | CircleAudience | EventAudience | None = None
    title: str | None = None
    participants: list[uuid.UUID] = Field(default_factory=list, description="Direct conversations only.")
    created_by: uuid.UUID | None = None
    can_write: bool
    created_at: datetime
    activity_at: datetime
    last_message: MessageOut | None = None
    unread_count: int = 0


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    up_to: uuid.UUID = Field(description="The newest message read (and every one before it).")


class ReadOut(BaseModel):
    conversation_id: uuid.UUID
    unread_count: int


class ReceiptOut(BaseModel):
    user_id: uuid.UUID
    up_to: uuid.UUID
    read_at: datetime


class Receipts(BaseModel):
    items: list[ReceiptOut]
