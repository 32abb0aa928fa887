"""A member profile: user id and display name, never contact details (those stay in auth)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Index, String, false, text, true
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
    # The member's own choice: False keeps him out of the staff directory (GET /api/v1/directory).
    directory_visible: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # When the auth event last applied happened; older (re-delivered, out-of-order) events are ignored.
    synced_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    __table_args__ = (
        # The directory's search (case-insensitive substring of the name) and its order (name, id).
        Index(
            "ix_profiles_directory_name_trgm",
            text("lower(display_name) gin_trgm_ops"),
            postgresql_using="gin",
            postgresql_with={"fastupdate": "off"},
            postgresql_where=text("directory_visible AND erased_at IS NULL"),
        ),
        Index(
            "ix_profiles_directory_name_id",
            text("lower(display_name)"),
            "user_id",
            postgresql_where=text("directory_visible AND erased_at IS NULL"),
        ),
        Index(
            "ix_profiles_directory_name_prefix",
            text("lower(display_name) text_pattern_ops"),
            postgresql_where=text("directory_visible AND erased_at IS NULL"),
        ),
    )

    @property
    def public_name(self) -> str:
        return ERASED_NAME if self.erased_at is not None else self.display_name
