"""A member profile: user id and display name, never contact details (those stay in auth)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, String, false
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.db import Base
from mcm_shared.db import TimestampedMixin

ERASED_NAME = "Former member"
PLACEHOLDER_NAME = "Member"


class Profile(TimestampedMixin, Base):
    __tablename__ = "profiles"
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class)

    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    verified_email: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    verified_phone: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # When the auth event last applied happened; older (re-delivered, out-of-order) events are ignored.
    synced_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    @property
    def public_name(self) -> str:
        return ERASED_NAME if self.erased_at is not None else self.display_name
