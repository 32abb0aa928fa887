"""What messaging publishes (stream `events:messaging`): its outbox tables and the one writer.

Publishing only adds an outbox row to the caller's transaction; the relay (main.py) sends it
after the commit. Today that is `notification.requested`, the notification centre asking auth
for an email or SMS."""

from __future__ import annotations

from mcm_messaging.db import Base
from mcm_shared.events import EventWriter, event_tables

PRODUCER = "messaging"

EVENTS = event_tables(Base)
# Immutable (tables and names only).
WRITER = EventWriter(EVENTS, producer=PRODUCER)
