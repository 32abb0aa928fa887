"""The agenda: dated things members are reminded of, fed by circles' and payments' messages, and
the reminders already sent (one per item, offset and member: the scheduler's guarantee against
duplicates, whatever the number of replicas)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, Text, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mcm_messaging.db import Base


class AgendaItem(Base):
    """A meeting, an event or a dues payment, with when it is and whom it concerns."""

    __tablename__ = "agenda_items"
    __table_args__ = (
        CheckConstraint("kind IN ('meeting', 'event', 'dues')", name="kind"),
        Index("ix_agenda_items_upcoming", "starts_at", postgresql_where=text("cancelled_at IS NULL")),
    )

    # The producer's id (meeting, event or obligation).
    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # Meetings: the circle whose members are reminded. Dues: the one member.
    circle_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None]
    title: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    # The IANA zone the reminder's text shows the time in (the circle's: members have none).
    timezone: Mapped[str] = mapped_column(String(64), server_default=text("'UTC'"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default=text("'{}'::jsonb"))
    cancelled_at: Mapped[datetime | None]
    # The producer's time of the last change applied: an older message changes nothing.
    changed_at: Mapped[datetime]


class SentReminder(Base):
    __tablename__ = "sent_reminders"

    item_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    offset_minutes: Mapped[int] = mapped_column(primary_key=True)
    # The start this reminder was for: a meeting moved later is reminded again.
    starts_at: Mapped[datetime] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime]
