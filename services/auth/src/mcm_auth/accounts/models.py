"""The user table: credentials and contact details, which never leave this database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from mcm_auth.db import Base
from mcm_shared.db import Entity
from mcm_shared.security import ROLE_NAMES, Role

_ROLE_LIST = ", ".join(f"'{role}'" for role in ROLE_NAMES)


class User(Entity, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(f"roles <@ ARRAY[{_ROLE_LIST}]::varchar[]", name="known_roles"),
        CheckConstraint("email = lower(email)", name="email_lowercase"),
    )

    # Normalised (NFKC, trimmed, lower case); NULL once the account is erased.
    email: Mapped[str | None] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), nullable=False)
    # NULL for accounts that only sign in with Google, and after erasure.
    password_hash: Mapped[str | None] = mapped_column(String(100))
    roles: Mapped[list[str]] = mapped_column(
        ARRAY(String(20)), nullable=False, server_default=text(f"ARRAY['{Role.MEMBER.value}']::varchar[]")
    )
    email_verified_at: Mapped[datetime | None]
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_verified_at: Mapped[datetime | None]
    google_subject: Mapped[str | None] = mapped_column(String(255), unique=True)
    password_changed_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]
    erased_at: Mapped[datetime | None]

    @property
    def active(self) -> bool:
        return self.disabled_at is None and self.erased_at is None
