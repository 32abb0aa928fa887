"""A membership: one person's time in one circle. Rows are never deleted, only ended."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.circles.models import _in
from mcm_circles.db import Base
from mcm_shared.db import Entity

ROLES = ("facilitator", "member")
STATUSES = ("pending", "active", "declined", "ended")
CURRENT = ("pending", "active")  # at most one current membership per circle and user
PAYMENT_STATUSES = ("not_required", "pending", "current", "overdue", "paused", "waived", "stopped")
END_REASONS = (
    "left",
    "withdrawn",
    "removed",
    "declined",
    "transferred",
    "role_changed",
    "circle_archived",
    "account_erased",
)


class Membership(Entity, Base):
    __tablename__ = "memberships"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    circle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.circles.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.profiles.user_id"))
    role: Mapped[str] = mapped_column(String(11))
    status: Mapped[str] = mapped_column(String(8))
    payment_status: Mapped[str] = mapped_column(String(12), default="not_required", server_default="not_required")
    # occurred_at of the last payments event applied: re-delivered or late events never win.
    payment_status_at: Mapped[datetime | None]
    # Overdue dues flag this membership for a human follow-up; nobody is removed automatically.
    flagged_at: Mapped[datetime | None]
    joined_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    end_reason: Mapped[str | None] = mapped_column(String(16))
    end_note: Mapped[str | None] = mapped_column(String(500))
    added_by: Mapped[uuid.UUID | None]
    decided_by: Mapped[uuid.UUID | None]

    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint(_in("payment_status", PAYMENT_STATUSES), name="payment_status"),
        CheckConstraint(f"end_reason IS NULL OR {_in('end_reason', END_REASONS)}", name="end_reason"),
        CheckConstraint("status <> 'active' OR joined_at IS NOT NULL", name="active_has_joined_at"),
        CheckConstraint("(status IN ('declined', 'ended')) = (ended_at IS NOT NULL)", name="ended_has_ended_at"),
        # One current (pending or active) membership per circle and user, whatever the race.
        Index(
            "uq_memberships_current",
            "circle_id",
            "user_id",
            unique=True,
            postgresql_where=text("status IN ('pending', 'active')"),
        ),
        Index("ix_memberships_circle_created", "circle_id", "created_at", "id"),
        Index("ix_memberships_user", "user_id", "status"),
        Index(
            "ix_memberships_facilitating",
            "user_id",
            "circle_id",
            postgresql_where=text("role = 'facilitator' AND status = 'active'"),
        ),
        Index("ix_memberships_flagged", "circle_id", "flagged_at", postgresql_where=text("flagged_at IS NOT NULL")),
    )
