"""A request to move a membership to another circle, decided by the target circle."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.circles.models import _in
from mcm_circles.db import Base
from mcm_shared.db import Entity

STATUSES = ("pending", "approved", "declined", "cancelled")


class TransferRequest(Entity, Base):
    __tablename__ = "transfer_requests"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.profiles.user_id"))
    from_membership_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.memberships.id"))
    from_circle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.circles.id"))
    to_circle_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("circles.circles.id"))
    to_membership_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("circles.memberships.id"))
    message: Mapped[str] = mapped_column(String(1000), default="", server_default="")
    status: Mapped[str] = mapped_column(String(9), default="pending", server_default="pending")
    decided_by: Mapped[uuid.UUID | None]
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(String(500))

    __table_args__ = (
        CheckConstraint(_in("status", STATUSES), name="status"),
        CheckConstraint("from_circle_id <> to_circle_id", name="different_circles"),
        CheckConstraint("(status = 'pending') = (decided_at IS NULL)", name="decided_at"),
        # One open request per membership at a time.
        Index(
            "uq_transfer_requests_pending",
            "from_membership_id",
            unique=True,
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_transfer_requests_to_circle", "to_circle_id", "status", "created_at"),
        Index("ix_transfer_requests_from_circle", "from_circle_id", "status", "created_at"),
        Index("ix_transfer_requests_user", "user_id", "created_at"),
    )
