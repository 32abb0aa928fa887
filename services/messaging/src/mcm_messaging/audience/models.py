"""The read model's tables. Rows are keyed by the producer's ids (membership, registration), so
a redelivered or out-of-order message lands on the same row: an end that arrives before its start
leaves a tombstone (`ended_at`) that the late start does not revive."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ARRAY, CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_messaging.db import Base

CIRCLE_ROLES = ("member", "facilitator")


class KnownUser(Base):
    """A user as auth announced him: his roles and whether the account is usable. No contact details."""

    __tablename__ = "known_users"

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default="{}")
    active: Mapped[bool] = mapped_column(server_default=text("true"))
    erased_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class CircleSeat(Base):
    """One membership of a circle (member or facilitator); current while `ended_at` is NULL."""

    __tablename__ = "circle_seats"
    __table_args__ = (
        CheckConstraint("role IN ('member', 'facilitator')", name="role"),
        Index("ix_circle_seats_current_user", "user_id", postgresql_where=text("ended_at IS NULL")),
        Index("ix_circle_seats_current_circle", "circle_id", postgresql_where=text("ended_at IS NULL")),
    )

    membership_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    circle_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    role: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]


class EventSeat(Base):
    """One confirmed registration for an event; current while `ended_at` is NULL."""

    __tablename__ = "event_seats"
    __table_args__ = (
        Index("ix_event_seats_current_user", "user_id", postgresql_where=text("ended_at IS NULL")),
        Index("ix_event_seats_current_event", "event_id", postgresql_where=text("ended_at IS NULL")),
    )

    registration_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    event_id: Mapped[uuid.UUID]
    user_id: Mapped[uuid.UUID]
    confirmed_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
