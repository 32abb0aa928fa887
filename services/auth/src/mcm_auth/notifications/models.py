"""Notification preferences."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String, func
from sqlalchemy.orm import Mapped, mapped_column

from mcm_auth.db import Base


class NotificationPreference(Base):
    """Per user and topic: which channels may carry platform notifications.

    Security messages (codes, password resets, sign-in alerts) ignore preferences.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("auth.users.id", ondelete="CASCADE"), primary_key=True)
    topic: Mapped[str] = mapped_column(String(40), primary_key=True)
    email: Mapped[bool] = mapped_column(nullable=False, server_default="true")
    sms: Mapped[bool] = mapped_column(nullable=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(nullable=False, server_default=func.now(), onupdate=func.now())
