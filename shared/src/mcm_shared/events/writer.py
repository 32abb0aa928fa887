"""The producer side of the outbox: `EventWriter.publish` adds an event to the caller's transaction.

Nothing is sent here. The row becomes visible to the relay only when the caller commits, so an
event exists if and only if the state change that caused it does (ARCHITECTURE.md §5).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.events.envelope import Envelope, normalise_payload, stream_for
from mcm_shared.events.tables import EventTables
from mcm_shared.logging import request_id_var


class EventWriter:
    """Writes outbox rows for one producing service.

    `stream` defaults to `events:<producer>`; overriding it is for tests and special cases.
    """

    def __init__(self, tables: EventTables, *, producer: str, stream: str | None = None) -> None:
        if not producer:
            raise ValueError("producer (the service name) is required")
        self.tables = tables
        self.producer = producer
        self.stream = stream or stream_for(producer)

    def envelope(self, event_type: str, payload: Mapping[str, Any], *, key: str | None = None) -> Envelope:
        """The envelope `publish` writes (a new id, now, the request id, the payload as plain JSON),
        for a caller that inserts the outbox row in a statement of its own (the row's columns are
        the envelope's fields, `stream` and `created_at` = `occurred_at`)."""
        if not event_type or not isinstance(event_type, str):
            raise ValueError("event_type must be a non-empty string")
        return Envelope(
            id=uuid.uuid4(),
            type=event_type,
            occurred_at=datetime.now(UTC),
            producer=self.producer,
            payload=normalise_payload(payload),
            request_id=request_id_var.get(),
            key=str(key) if key is not None else None,
        )

    async def publish(
        self,
        session: AsyncSession,
        event_type: str,
        payload: Mapping[str, Any],
        *,
        key: str | None = None,
    ) -> Envelope:
        """Add an outbox row in the session's current transaction; the caller commits.

        `key` names the thing the event is about (e.g. a circle id) so consumers can group or
        order by it. Returns the envelope that will be delivered.
        """
        envelope = self.envelope(event_type, payload, key=key)
        # Core insert rather than an ORM object: it runs now, inside the caller's transaction
        # (autobegun if needed), and does not depend on the caller flushing.
        await session.execute(
            insert(self.tables.outbox).values(
                id=envelope.id,
                stream=self.stream,
                event_type=envelope.type,
                event_key=envelope.key,
                producer=envelope.producer,
                payload=envelope.payload,
                request_id=envelope.request_id,
                created_at=envelope.occurred_at,
            )
        )
        return envelope
