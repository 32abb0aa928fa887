"""One-time codes for proving an email address or phone number."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from mcm_auth.db import Base
from mcm_shared.db import Entity

MAX_ATTEMPTS = 5


class VerificationCode(Entity, Base):
    __tablename__ = "verification_codes"
    __table_args__ = (
        CheckConstraint("purpose IN ('email', 'phone')", name="purpose"),
        CheckConstraint(f"attempts >= 0 AND attempts <= {MAX_ATTEMPTS}", name="attempts_range"),
        Index("ix_verification_codes_user_purpose", "user_id", "purpose"),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False)
    purpose: Mapped[str] = mapped_column(String(8), nullable=False)
    # The address or number being proved; for a phone it becomes the user's only once proved.
    target: Mapped[str] = mapped_column(String(254), nullable=False)
    code_hash: Mapped[str] = mapped_column(String(64), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    attempts: Mapped[int] = mapped_column(SmallInteger, nullable=False, server_default="0")
    # Used, burned by too many wrong guesses, or replaced by a newer code.
    consumed_at: Mapped[datetime | None]
