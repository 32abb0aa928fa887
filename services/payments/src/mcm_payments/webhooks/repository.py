"""SQL for the webhook inbox."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, cast

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy import Table, any_, bindparam, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.service import ts
from mcm_payments.webhooks.models import WebhookEvent, WebhookRetry

# The inbox table (a mapped class's __table__ is typed as any FromClause).
_TABLE = cast(Table, WebhookEvent.__table__)

# One verified event as `insert_events` stores it (its new row id first, then its Stripe id).
InboxRow = tuple[Any, ...]

# The table name is ours; every value is a bind parameter.
_INSERT_MANY = f"""
    INSERT INTO {_TABLE.fullname}
           (id, stripe_event_id, type, event_created, livemode, object_id, payload, next_attempt_at)
    SELECT id, stripe_event_id, type, event_created, livemode, object_id, payload::jsonb, now() + $8::interval
      FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::bool[], $6::text[], $7::text[])
           AS new (id, stripe_event_id, type, event_created, livemode, object_id, payload)
    ON CONFLICT (stripe_event_id) DO NOTHING
    RETURNING stripe_event_id, id
"""  # noqa: S608


def inbox_row(event: dict[str, Any], payload: str) -> InboxRow:
    """The columns `insert_events` stores for one verified event (its new row id first)."""
    obj = event["data"]["object"]
    object_id = obj.get("id") if isinstance(obj.get("id"), str) else None
    return (
        uuid.uuid4(),
        event["id"],
        event["type"],
        ts(event["created"]),
        bool(event.get("livemode")),
        object_id,
        payload,
    )


async def insert_events(
    connection: asyncpg.Connection, rows: Sequence[InboxRow], sweep_after: timedelta
) -> dict[str, uuid.UUID]:
    """Store several verified events (`inbox_row`s, distinct Stripe ids) in ONE statement on a
    connection outside any transaction, so one commit (one disk flush) covers them all. Returns
    Stripe event id → new row id for those not stored before (the others were duplicates)."""
    columns = list(zip(*rows, strict=True))
    stored = await connection.fetch(_INSERT_MANY, *columns, sweep_after)
    return {record["stripe_event_id"]: record["id"] for record in stored}


# Built once: the processor runs these for every batch.
_IDS = bindparam("ids", type_=ARRAY(UUID(as_uuid=True)))
_INBOX = _TABLE.c
_CLAIM = (
    select(_INBOX.id)
    .where(_INBOX.id == any_(_IDS), _INBOX.processed_at.is_(None))
    .order_by(_INBOX.event_created, _INBOX.received_at)
    .with_for_update(skip_locked=True)
)
_MARK_PROCESSED = (
    update(_TABLE)
    .where(_INBOX.id == any_(_IDS))
    .values(
        processed_at=func.now(),
        outcome=bindparam("outcome"),
        flagged=bindparam("flagged"),
        attempts=_INBOX.attempts + 1,
        last_error=None,
    )
)


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def claim_many(self, row_ids: Sequence[uuid.UUID]) -> Sequence[uuid.UUID]:
        """Those of `row_ids` still unprocessed, locked (SKIP LOCKED: rows another transaction is
        processing now are left to it), oldest event first."""
        return (await self.session.scalars(_CLAIM, {"ids": list(row_ids)})).all()

    async def processed(self, outcomes: dict[uuid.UUID, str], flagged: set[str]) -> None:
        """Mark claimed rows processed, one statement per distinct outcome."""
        by_outcome: dict[str, list[uuid.UUID]] = {}
        for row_id, outcome in outcomes.items():
            by_outcome.setdefault(outcome, []).append(row_id)
        for outcome, row_ids in by_outcome.items():
            await self.session.execute(
                _MARK_PROCESSED, {"ids": row_ids, "outcome": outcome, "flagged": outcome in flagged}
            )

    async def claim(self, row_id: uuid.UUID) -> WebhookEvent | None:
        """The unprocessed row, locked; None if done or someone else is processing it now."""
        return await self.session.scalar(
            select(WebhookEvent)
            .where(WebhookEvent.id == row_id, WebhookEvent.processed_at.is_(None))
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )

    async def due(self, limit: int) -> dict[uuid.UUID, dict[str, Any]]:
        """Unprocessed rows whose (re)try time has come: row id → event."""
        rows = await self.session.execute(
            select(WebhookEvent.id, WebhookEvent.payload)
            .where(WebhookEvent.processed_at.is_(None), WebhookEvent.next_attempt_at <= func.now())
            .order_by(WebhookEvent.event_created, WebhookEvent.received_at)
            .limit(limit)
        )
        return {row.id: row.payload for row in rows}

    async def flagged(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> Sequence[WebhookEvent]:
        """Flagged rows and rows still failing, newest first."""
        query = select(WebhookEvent).where(WebhookEvent.flagged | WebhookEvent.last_error.is_not(None))
        if after:
            query = query.where(tuple_(WebhookEvent.received_at, WebhookEvent.id) < after)
        return (
            await self.session.scalars(
                query.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit + 1)
            )
        ).all()

    async def attempts(self, row_id: uuid.UUID) -> int:
        return await self.session.scalar(select(WebhookEvent.attempts).where(WebhookEvent.id == row_id)) or 0

    async def failed(self, row_id: uuid.UUID, error: str, delay: timedelta, *, give_up: bool) -> None:
        values: dict[str, Any] = {
            "attempts": WebhookEvent.attempts + 1,
            "last_error": error[:2000],
            "next_attempt_at": func.now() + delay,
        }
        if give_up:
            values.update(processed_at=func.now(), outcome="failed", flagged=True)
        await self.session.execute(
            update(WebhookEvent).where(WebhookEvent.id == row_id, WebhookEvent.processed_at.is_(None)).values(**values)
        )

    async def find(self, reference: str) -> WebhookEvent | None:
        """A stored event by its row id or its Stripe event id."""
        try:
            condition = WebhookEvent.id == uuid.UUID(reference)
        except ValueError:
            condition = WebhookEvent.stripe_event_id == reference
        return await self.session.scalar(select(WebhookEvent).where(condition))

    async def lock_any(self, row_id: uuid.UUID) -> WebhookEvent | None:
        """The row, processed or not, locked; None while someone else is processing it."""
        return await self.session.scalar(
            select(WebhookEvent)
            .where(WebhookEvent.id == row_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )

    def record_retry(self, **values: Any) -> WebhookRetry:
        entry = WebhookRetry(**values)
        self.session.add(entry)
        return entry
