"""Pydantic schemas for notification preferences and the `notification.requested` event."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mcm_auth.accounts.schemas import StrictInput

Topic = Literal["circles", "events", "payments", "general"]
TOPICS: tuple[str, ...] = ("circles", "events", "payments", "general")


class TopicPreference(StrictInput):
    topic: Topic
    email: bool = True
    sms: bool = False


class Preferences(BaseModel):
    """Which channels may carry each topic. Security messages (codes, resets) ignore these."""

    topics: list[TopicPreference]


class PreferencesUpdate(StrictInput):
    topics: list[TopicPreference] = Field(min_length=1, max_length=len(TOPICS))


class NotificationRequested(BaseModel):
    """What another service asks auth to send; unknown extra fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    recipient_user_ids: list[uuid.UUID] = Field(max_length=1000)
    template: str = Field(min_length=1, max_length=64)
    data: dict[str, Any] = Field(default_factory=dict)
