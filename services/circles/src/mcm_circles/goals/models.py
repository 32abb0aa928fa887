"""A personal goal for a period, set within a circle by one of its members."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.db import Base
from mcm_shared.db import Entity


class Goal(Entity, Base):
    __tablename__ = "goals"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    circle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.circles.id"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.profiles.user_id"))
    membership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.memberships.id"))
    title: Mapped[str] = mapped_column(String(200))
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    done_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("period_end >= period_start", name="period"),
        CheckConstraint("period_end - period_start <= 366", name="period_length"),
        Index("ix_goals_circle_user_period", "circle_id", "user_id", "period_start"),
        Index("ix_goals_user", "user_id"),
    )
