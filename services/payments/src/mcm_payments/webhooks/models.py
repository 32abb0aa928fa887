"""The webhook inbox: every verified Stripe event, stored before we answer 2xx."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base


class WebhookEvent(Base):
    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhook_events_unprocessed", "next_attempt_at", postgresql_where=text("processed_at IS NULL")),
        Index("ix_webhook_events_flagged", "received_at", postgresql_where=text("flagged")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    stripe_event_id: Mapped[str] = mapped_column(Text, unique=True)
    type: Mapped[str] = mapped_column(Text)
    event_created: Mapped[datetime]
    livemode: Mapped[bool] = mapped_column(Boolean, server_default="false")
    object_id: Mapped[str | None] = mapped_column(Text)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    received_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    processed_at: Mapped[datetime | None]
    # applied · ignored (type or object not ours) · unknown_customer · stale (older than state)
    outcome: Mapped[str | None] = mapped_column(String(24))
    flagged: Mapped[bool] = mapped_column(Boolean, server_default="false")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class WebhookRetry(Base):
    """Append-only: staff retrying a stored event — who, when, why, and what came of it."""

    __tablename__ = "webhook_retries"
    __table_args__ = (Index("ix_webhook_retries_event", "webhook_event_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    webhook_event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhook_events.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(Text)  # "user:<uuid>"
    actor_roles: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    reason: Mapped[str | None] = mapped_column(Text)
    outcome_before: Mapped[str | None] = mapped_column(String(24))
    # processed · still_failing · already_processed
    result: Mapped[str] = mapped_column(String(24))
    outcome_after: Mapped[str | None] = mapped_column(String(24))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
