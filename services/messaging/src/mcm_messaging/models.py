"""Import point for every model of the service, so Alembic sees the whole metadata."""

from mcm_messaging.audience.models import CircleSeat, EventSeat, KnownUser
from mcm_messaging.conversations.models import Conversation, Message, Participant, ReadMark
from mcm_messaging.db import Base
from mcm_shared.events import event_tables

EVENTS = event_tables(Base)
metadata = Base.metadata

__all__ = [
    "EVENTS",
    "CircleSeat",
    "Conversation",
    "EventSeat",
    "KnownUser",
    "Message",
    "Participant",
    "ReadMark",
    "metadata",
]
