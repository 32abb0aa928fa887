"""The outbox and inbox tables, defined once and placed in each service's own schema.

Models side:     `EVENTS = event_tables(Base)` adds `outbox` and `inbox` to the service's metadata
                 (so Alembic autogenerate sees them and reports no drift).
Migration side:  `create_event_tables(op, schema="circles")` in a revision's `upgrade()` creates
                 the very same tables; both sides build their columns from the functions below,
                 so they cannot disagree. Constraint names are explicit for the same reason.

outbox: id uuid PK (the event id) · position bigint identity (publishing order) · stream text ·
        event_type text · event_key text NULL · producer text · payload jsonb ·
        request_id text NULL · created_at timestamptz (= occurred_at) · published_at timestamptz NULL
        + partial index ix_outbox_unpublished (position) WHERE published_at IS NULL
inbox:  consumer text (consumer group) · event_id uuid · event_type text · producer text ·
        processed_at timestamptz; PK (consumer, event_id)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

OUTBOX = "outbox"
INBOX = "inbox"
UNPUBLISHED_INDEX = "ix_outbox_unpublished"
_UNPUBLISHED = "published_at IS NULL"


def _outbox_columns() -> list[Any]:
    return [
        Column("id", UUID(as_uuid=True), nullable=False),
        # Identity gives insertion order: events written in one transaction are published in the
        # order they were written, which created_at (the transaction's start time) cannot tell.
        Column("position", BigInteger, Identity(), nullable=False),
        Column("stream", Text, nullable=False),
        Column("event_type", Text, nullable=False),
        Column("event_key", Text, nullable=True),
        Column("producer", Text, nullable=False),
        Column("payload", JSONB, nullable=False),
        Column("request_id", Text, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        PrimaryKeyConstraint("id", name="pk_outbox"),
    ]


def _inbox_columns() -> list[Any]:
    # The key includes the consumer group: two groups in one service (say, a projector and a
    # notifier) must each apply the same event once, so uniqueness is per (group, event).
    return [
        Column("consumer", Text, nullable=False),
        Column("event_id", UUID(as_uuid=True), nullable=False),
        Column("event_type", Text, nullable=False),
        Column("producer", Text, nullable=False),
        Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        PrimaryKeyConstraint("consumer", "event_id", name="pk_inbox"),
    ]


@dataclass(frozen=True)
class EventTables:
    """A service's outbox and inbox tables (SQLAlchemy Core `Table`s in its metadata)."""

    outbox: Table
    inbox: Table


def event_tables(base_or_metadata: Any) -> EventTables:
    """Add the outbox and inbox tables to a service's declarative base (or MetaData).

    The schema comes from the metadata (`make_base("circles")` → `circles.outbox`). Calling it
    twice returns the tables already defined rather than failing.
    """
    metadata: MetaData = getattr(base_or_metadata, "metadata", base_or_metadata)
    if not isinstance(metadata, MetaData):
        raise TypeError("event_tables() needs a declarative base or a MetaData")
    prefix = f"{metadata.schema}." if metadata.schema else ""
    existing_outbox = metadata.tables.get(prefix + OUTBOX)
    existing_inbox = metadata.tables.get(prefix + INBOX)
    if existing_outbox is not None and existing_inbox is not None:
        return EventTables(existing_outbox, existing_inbox)
    outbox = Table(OUTBOX, metadata, *_outbox_columns())
    Index(UNPUBLISHED_INDEX, outbox.c.position, postgresql_where=text(_UNPUBLISHED))
    inbox = Table(INBOX, metadata, *_inbox_columns())
    return EventTables(outbox, inbox)


def create_event_tables(op: Any, schema: str | None) -> None:
    """Create both tables from an Alembic revision: `create_event_tables(op, schema="circles")`."""
    op.create_table(OUTBOX, *_outbox_columns(), schema=schema)
    op.create_index(UNPUBLISHED_INDEX, OUTBOX, ["position"], schema=schema, postgresql_where=text(_UNPUBLISHED))
    op.create_table(INBOX, *_inbox_columns(), schema=schema)


def drop_event_tables(op: Any, schema: str | None) -> None:
    """The matching `downgrade()` step."""
    op.drop_table(INBOX, schema=schema)
    op.drop_index(UNPUBLISHED_INDEX, table_name=OUTBOX, schema=schema)
    op.drop_table(OUTBOX, schema=schema)
