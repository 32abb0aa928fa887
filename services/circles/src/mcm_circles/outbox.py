"""The service's side of the event bus: its outbox/inbox tables and the one writer every bounded
context publishes through (stream `events:circles`); the runtime carries the same writer.

Publishing only adds an outbox row to the caller's transaction; the relay sends it after commit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.db import Base
from mcm_shared.events.envelope import Envelope
from mcm_shared.events.tables import event_tables
from mcm_shared.events.writer import EventWriter

PRODUCER = "circles"

EVENTS = event_tables(Base)
# Immutable (tables and names only): shared by `publish` and `CirclesRuntime.writer`.
WRITER = EventWriter(EVENTS, producer=PRODUCER)


async def publish(session: AsyncSession, event_type: str, payload: Mapping[str, Any], *, key: Any = None) -> Envelope:
    return await WRITER.publish(session, event_type, payload, key=str(key) if key is not None else None)


async def notify(session: AsyncSession, recipients: Any, template: str, data: Mapping[str, Any]) -> None:
    """Ask auth to tell people something (`notification.requested`); nobody to tell, nothing sent.

    Recipients are user ids only: auth owns the contact details and the channels.
    """
    unique = sorted({str(user_id) for user_id in recipients if user_id is not None})
    if unique:
        await publish(
            session,
            "notification.requested",
            {"recipient_user_ids": unique, "template": template, "data": dict(data)},
            key=data.get("circle_id"),
        )
