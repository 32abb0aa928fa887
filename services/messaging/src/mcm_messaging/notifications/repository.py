"""SQL of the inbox: idempotent inserts, the member's pages and counts, and the rows the
dispatcher claims (FOR UPDATE SKIP LOCKED, so replicas never take the same row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.notifications.models import Notification


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert one entry; False (and nothing written) when its source already made one for him."""
        inserted = await self.session.scalar(
            insert(Notification)
            .values(**values)
            .on_conflict_do_nothing(constraint="uq_notifications_source_user")
            .returning(Notification.id)
        )
        return inserted is not None

    async def page(
        self, user_id: uuid.UUID, limit: int, before: tuple[datetime, uuid.UUID] | None, unread_only: bool
    ) -> Sequence[Notification]:
        query = select(Notification).where(Notification.user_id == user_id)
        if unread_only:
            query = query.where(Notification.read_at.is_(None))
        if before is not None:
            query = query.where(func.row(Notification.created_at, Notification.id) < func.row(*before))
        query = query.order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
        return (await self.session.scalars(query)).all()

    async def unread_count(self, user_id: uuid.UUID) -> int:
        found = await self.session.scalar(
            select(func.count()).where(Notification.user_id == user_id, Notification.read_at.is_(None))
        )
        return int(found or 0)

    async def mark_read(self, user_id: uuid.UUID, ids: list[uuid.UUID] | None, now: datetime) -> int:
        """Mark his entries read (the given ones, or all); other people's ids are ignored."""
        statement = (
            update(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None))
            .values(read_at=now)
        )
        if ids is not None:
            statement = statement.where(Notification.id.in_(ids))
        result = await self.session.execute(statement)
        return int(getattr(result, "rowcount", 0) or 0)

    # -- the dispatcher ------------------------------------------------------------------------
    async def claim_unpushed(self, limit: int) -> Sequence[Notification]:
        return (
            await self.session.scalars(
                select(Notification)
                .where(Notification.pushed_at.is_(None))
                .order_by(Notification.created_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()

    async def claim_email_due(self, now: datetime, limit: int) -> Sequence[Notification]:
        return (
            await self.session.scalars(
                select(Notification)
                .where(Notification.email_state == "pending", Notification.email_due_at <= now)
                .order_by(Notification.email_due_at)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        ).all()

    async def set_email_state(self, notification_id: uuid.UUID, state: str) -> None:
        await self.session.execute(
            update(Notification).where(Notification.id == notification_id).values(email_state=state)
        )

    async def delete_for(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(Notification).where(Notification.user_id == user_id))
