"""A session is one sign-in on one device; its refresh tokens form one rotation family."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, func
from sqlalchemy.orm import Mapped, mapped_column

from mcm_auth.db import Base
from mcm_shared.db import Entity


class Session(Entity, Base):
    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_active", "user_id", "revoked_at"),)

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id", ondelete="CASCADE"), nullable=False)
    user_agent: Mapped[str | None] = mapped_column(String(256))
    ip_address: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[datetime] = mapped_column(nullable=False, server_default=func.now())
    # Absolute end of the session, whatever its activity.
    expires_at: Mapped[datetime] = mapped_column(nullable=False)
    # The latest access token issued in this session expires at this time; revocation must be
    # remembered by the gateway until then.
    access_expires_at: Mapped[datetime] = mapped_column(nullable=False)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class RefreshToken(Base):
    __tablename__ = "refresh_tokens"

    # SHA-256 of the opaque token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("auth.sessions.id", ondelete="CASCADE"), nullable=False, index=True
    )
    issued_at: Mapped[datetime] = mapped_column(nullable=False, server_default=func.now())
    # Set when exchanged for a new pair; presenting it again is reuse and revokes the family.
    rotated_at: Mapped[datetime | None]
