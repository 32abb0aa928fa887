"""Import point for every model of the service, so Alembic sees the whole metadata."""

from mcm_messaging.audience.models import CircleSeat, EventSeat, KnownUser
from mcm_messaging.conversations.models import Conversation, Message, Participant, ReadMark
from mcm_messaging.db import Base
from mcm_messaging.notifications.models import Notification
from mcm_messaging.outbox import EVENTS
from mcm_messaging.reminders.models import AgendaItem, SentReminder

metadata = Base.metadata

__all__ = [
    "EVENTS",
    "AgendaItem",
    "CircleSeat",
    "Conversation",
    "EventSeat",
    "KnownUser",
    "Message",
    "Notification",
    "Participant",
    "ReadMark",
    "SentReminder",
    "metadata",
]
