"""An invitation: who was invited (email), into what (a circle, an event's staff, or roles), by
whom, and its single-use token (hash only) with its expiry."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from mcm_auth.db import Base
from mcm_shared.db import Entity


class Invitation(Entity, Base):
    __tablename__ = "invitations"
    __table_args__ = (
        CheckConstraint("email = lower(email)", name="email_lowercase"),
        CheckConstraint("circle_id IS NULL OR event_id IS NULL", name="one_target"),
        CheckConstraint(
            "circle_role IS NULL OR (circle_id IS NOT NULL AND circle_role IN ('member', 'facilitator'))",
            name="circle_role",
        ),
        Index("ix_invitations_invited_by_created", "invited_by", "created_at", "id"),
        Index("ix_invitations_created", "created_at", "id"),
    )

    email: Mapped[str] = mapped_column(String(254), nullable=False)
    # Replaced on every resend: the previous link dies with its hash.
    token_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    circle_id: Mapped[uuid.UUID | None]
    event_id: Mapped[uuid.UUID | None]
    # "facilitator" only from a bulk import's facilitator rows; NULL: a member.
    circle_role: Mapped[str | None] = mapped_column(String(11))
    # Organisation roles granted on acceptance (admins only); empty for circle and event invitations.
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(20)), nullable=False, server_default=text("'{}'"))
    invited_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth.users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    accepted_at: Mapped[datetime | None]
    accepted_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("auth.users.id", ondelete="SET NULL"))

    def status(self, now: datetime) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= now else "pending"
