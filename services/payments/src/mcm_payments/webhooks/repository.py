"""SQL for the webhook inbox."""
from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.service import ts
from mcm_payments.webhooks.models import WebhookEvent


class WebhookRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, event: dict[str, Any]) -> tuple[uuid.UUID, bool]:
        """Insert the event unless its Stripe id is already stored. Returns (row id, inserted)."""
        obj = (event.get("data") or {}).get("object") or {}
        statement = (
            insert(WebhookEvent)
            .values(
                id=uuid.uuid4(), stripe_event_id=event["id"], type=event["type"], event_created=ts(event["created"]),
                livemode=bool(event.get("livemode")), object_id=obj.get("id") if isinstance(obj.get("id"), str) else None, payload=event,
            )
            .on_conflict_do_nothing(index_elements=[WebhookEvent.stripe_event_id])
            .returning(WebhookEvent.id)
        )
        new_id = (await self.session.execute(statement)).scalar_one_or_none()
        if new_id is not None:
            return new_id, True
        existing = await self.session.scalar(select(WebhookEvent.id).where(WebhookEvent.stripe_event_id == event["id"]))
        assert existing is not None
        return existing, False

    async def claim(self, row_id: uuid.UUID) -> WebhookEvent | None:
        """The unprocessed row, locked; None if done or someone else is processing it now."""
        return await self.session.scalar(
            select(WebhookEvent).where(WebhookEvent.id == row_id, WebhookEvent.processed_at.is_(None))
            .with_for_update(skip_locked=True).execution_options(populate_existing=True)
        )

    async def due(self, limit: int) -> Sequence[uuid.UUID]:
        return (await self.session.scalars(
            select(WebhookEvent.id).where(WebhookEvent.processed_at.is_(None), WebhookEvent.next_attempt_at <= func.now())
            .order_by(WebhookEvent.event_created, WebhookEvent.received_at).limit(limit)
        )).all()

    async def flagged(self, limit: int, after: tuple[datetime, uuid.UUID] | None) -> Sequence[WebhookEvent]:
        """Flagged rows and rows still failing, newest first."""
        query = select(WebhookEvent).where(WebhookEvent.flagged | WebhookEvent.last_error.is_not(None))
        if after:
            query = query.where(tuple_(WebhookEvent.received_at, WebhookEvent.id) < after)
        return (await self.session.scalars(query.order_by(WebhookEvent.received_at.desc(), WebhookEvent.id.desc()).limit(limit + 1))).all()

    async def attempts(self, row_id: uuid.UUID) -> int:
        return await self.session.scalar(select(WebhookEvent.attempts).where(WebhookEvent.id == row_id)) or 0

    async def failed(self, row_id: uuid.UUID, error: str, delay: timedelta, *, give_up: bool) -> None:
        values: dict[str, Any] = {"attempts": WebhookEvent.attempts + 1, "last_error": error[:2000], "next_attempt_at": func.now() + delay}
        if give_up:
            values.update(processed_at=func.now(), outcome="failed", flagged=True)
        await self.session.execute(update(WebhookEvent).where(WebhookEvent.id == row_id, WebhookEvent.processed_at.is_(None)).values(**values))
