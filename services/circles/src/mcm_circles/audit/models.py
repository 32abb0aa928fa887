"""One row per staff action on another person: registering or cancelling for him, approving or
declining his application, moving him between circles. Rows are only ever inserted."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, String, Text, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.db import Base


class StaffAction(Base):
    __tablename__ = "staff_actions"
    __table_args__ = (
        Index("ix_staff_actions_subject_user_id", "subject_user_id", "created_at"),
        Index("ix_staff_actions_actor_user_id", "actor_user_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    action: Mapped[str] = mapped_column(String(60))
    actor_user_id: Mapped[uuid.UUID]
    subject_user_id: Mapped[uuid.UUID]
    reason: Mapped[str | None] = mapped_column(Text)
    # What the action was about (event, registration, circles) and what came of it (refund, status).
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
