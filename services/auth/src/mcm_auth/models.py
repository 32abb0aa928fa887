"""Import point for every model of the service, so Alembic sees the whole metadata."""

from mcm_auth.accounts.models import User
from mcm_auth.db import Base
from mcm_auth.invitations.models import Invitation
from mcm_auth.keys.models import PublishedKey
from mcm_auth.notifications.models import NotificationPreference
from mcm_auth.outbox.models import OutboundMessage
from mcm_auth.passwords.models import PasswordReset
from mcm_auth.roles.models import AuditEntry
from mcm_auth.sessions.models import RefreshToken, Session
from mcm_auth.verification.models import VerificationCode
from mcm_shared.events.tables import event_tables

EVENTS = event_tables(Base)
metadata = Base.metadata

__all__ = [
    "EVENTS",
    "AuditEntry",
    "Invitation",
    "NotificationPreference",
    "OutboundMessage",
    "PasswordReset",
    "PublishedKey",
    "RefreshToken",
    "Session",
    "User",
    "VerificationCode",
    "metadata",
]
