"""SQL of the agenda: upserts from the bus (an older message never overwrites a newer one) and
the scheduler's questions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.reminders.models import AgendaItem, SentReminder

# pg_try_advisory_xact_lock key of the scheduler: one replica scans at a time.
SCHEDULER_LOCK = 0x6D73675F72656D  # "msg_rem"


class AgendaRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def upsert(self, values: dict[str, Any]) -> None:
        statement = insert(AgendaItem).values(**values)
        changing = {key: statement.excluded[key] for key in values if key != "item_id"}
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[AgendaItem.item_id],
                set_=changing,
                where=AgendaItem.changed_at <= statement.excluded.changed_at,
            )
        )

    async def cancel(self, item_id: uuid.UUID, cancelled_at: datetime) -> None:
        await self.session.execute(
            update(AgendaItem)
            .where(AgendaItem.item_id == item_id, AgendaItem.changed_at <= cancelled_at)
            .values(cancelled_at=cancelled_at, changed_at=cancelled_at)
        )

    async def lead(self) -> bool:
        """This transaction scans for due reminders; False when another replica is at it."""
        return bool(await self.session.scalar(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": SCHEDULER_LOCK}))

    async def due(self, now: datetime, offset_minutes: int, until_minutes: int) -> Sequence[AgendaItem]:
        """Upcoming items whose `offset` reminder time has come while more than `until` remains."""
        offset = func.make_interval(0, 0, 0, 0, 0, offset_minutes)
        until = func.make_interval(0, 0, 0, 0, 0, until_minutes)
        return (
            await self.session.scalars(
                select(AgendaItem).where(
                    AgendaItem.cancelled_at.is_(None),
                    AgendaItem.starts_at - offset <= now,
                    AgendaItem.starts_at - until > now,
                )
            )
        ).all()

    async def mark_sent(self, item: AgendaItem, offset_minutes: int, now: datetime) -> bool:
        """Claim this reminder; False when it was sent already (by this replica or another)."""
        claimed = await self.session.scalar(
            insert(SentReminder)
            .values(item_id=item.item_id, offset_minutes=offset_minutes, starts_at=item.starts_at, sent_at=now)
            .on_conflict_do_nothing()
            .returning(SentReminder.item_id)
        )
        return claimed is not None
