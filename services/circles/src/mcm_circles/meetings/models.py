"""Meetings (UTC instants computed from the circle's local schedule) and attendance records."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, PrimaryKeyConstraint, SmallInteger, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.circles.models import _in
from mcm_circles.db import Base
from mcm_shared.db import Entity, TimestampedMixin

MEETING_STATUSES = ("scheduled", "cancelled")
ATTENDANCE_STATUSES = ("present", "late", "excused", "absent")


class Meeting(Entity, Base):
    __tablename__ = "meetings"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    circle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.circles.id"))
    starts_at: Mapped[datetime]
    duration_minutes: Mapped[int] = mapped_column(SmallInteger)
    status: Mapped[str] = mapped_column(String(9), default="scheduled", server_default="scheduled")
    note: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    cancel_reason: Mapped[str | None] = mapped_column(String(500))
    created_by: Mapped[uuid.UUID]

    __table_args__ = (
        CheckConstraint(_in("status", MEETING_STATUSES), name="status"),
        CheckConstraint("duration_minutes BETWEEN 15 AND 720", name="duration"),
        # Generating the same occurrence twice (double click, two facilitators) adds it once.
        Index(
            "uq_meetings_scheduled_start",
            "circle_id",
            "starts_at",
            unique=True,
            postgresql_where=text("status = 'scheduled'"),
        ),
        Index("ix_meetings_circle_starts", "circle_id", "starts_at", "id"),
    )


class Attendance(TimestampedMixin, Base):
    __tablename__ = "attendance"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    meeting_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.meetings.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.profiles.user_id"))
    circle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.circles.id"))
    membership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.memberships.id"))
    status: Mapped[str] = mapped_column(String(7))
    # Private: facilitators and staff only, never the member or his peers.
    note: Mapped[str | None] = mapped_column(String(2000))
    recorded_by: Mapped[uuid.UUID]

    __table_args__ = (
        PrimaryKeyConstraint("meeting_id", "user_id", name="pk_attendance"),
        CheckConstraint(_in("status", ATTENDANCE_STATUSES), name="status"),
        Index("ix_attendance_circle_user", "circle_id", "user_id"),
        Index("ix_attendance_user", "user_id"),
    )
