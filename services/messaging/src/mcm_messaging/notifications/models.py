"""The inbox: one row per member and thing that happened, keyed by the bus message (or reminder)
it came from, so a redelivered message never makes a second entry."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mcm_messaging.db import Base

# What happened to the email/SMS side of an entry: waiting for its time, asked of auth, or not
# needed (read in the app in time, or a kind that is never emailed).
EMAIL_STATES = ("pending", "requested", "skipped")


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("source_id", "user_id", name="uq_notifications_source_user"),
        CheckConstraint("email_state IN ('pending', 'requested', 'skipped')", name="email_state"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_unpushed", "created_at", postgresql_where=text("pushed_at IS NULL")),
        Index("ix_notifications_email_due", "email_due_at", postgresql_where=text("email_state = 'pending'")),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    user_id: Mapped[uuid.UUID]
    # The bus message (or reminder) this entry comes from: one entry per source and member.
    source_id: Mapped[uuid.UUID]
    kind: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    # A path inside the app (`/events/{id}`, `/circles/{id}`, `/payments`).
    link: Mapped[str | None] = mapped_column(Text)
    # What auth's template for this kind needs (ids, names, times): never a contact detail.
    template: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    urgent: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime]
    read_at: Mapped[datetime | None]
    pushed_at: Mapped[datetime | None]
    email_state: Mapped[str] = mapped_column(String(16), server_default=text("'pending'"))
    email_due_at: Mapped[datetime | None]
