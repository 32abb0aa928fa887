"""The event bus every service uses: transactional outbox → relay → Redis Streams → consumer
groups with an inbox (ARCHITECTURE.md §5). Infrastructure only; event names live in services.

    tables.py    outbox/inbox tables for a service's metadata, and their Alembic DDL
    writer.py    EventWriter.publish(session, type, payload, key=...) inside the caller's transaction
    relay.py     OutboxRelay: outbox rows → stream `events:<service>` (at-least-once)
    consumer.py  EventConsumer: consumer group, exactly-once effects via the inbox, retries,
                 XAUTOCLAIM of dead consumers' entries, dead-letter stream
    groups.py    Redis consumer-group plumbing;  envelope.py  the envelope on the wire;
    worker.py    the background loop that backs off and never dies

Wiring a service (circles shown):

    EVENTS = event_tables(Base)                                   # models.py, Base = make_base("circles")
    writer = EventWriter(EVENTS, producer="circles")              # events.py
    await writer.publish(session, "membership.ended", {...}, key=str(circle_id))  # service; caller commits
    relay = OutboxRelay(db.sessionmaker, redis, EVENTS)           # lifespan hook
    consumer = EventConsumer(db.sessionmaker, redis, EVENTS, group="circles",
                             streams=[stream_for("auth"), stream_for("payments")],
                             handlers={"obligation.settled": on_obligation_settled})
    relay.start(); consumer.start(); stack.push_async_callback(relay.stop); stack.push_async_callback(consumer.stop)
    def upgrade(): create_event_tables(op, schema="circles")      # an Alembic revision
    def downgrade(): drop_event_tables(op, schema="circles")
"""

from mcm_shared.events.consumer import EventConsumer, Handler, HandlerTimeout
from mcm_shared.events.envelope import Envelope, MalformedEvent, stream_for
from mcm_shared.events.relay import OutboxRelay
from mcm_shared.events.tables import EventTables, create_event_tables, drop_event_tables, event_tables
from mcm_shared.events.writer import EventWriter

__all__ = [
    "Envelope",
    "EventConsumer",
    "EventTables",
    "EventWriter",
    "Handler",
    "HandlerTimeout",
    "MalformedEvent",
    "OutboxRelay",
    "create_event_tables",
    "drop_event_tables",
    "event_tables",
    "stream_for",
]
