"""SQL for notification preferences."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.notifications.models import NotificationPreference


class PreferenceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def for_user(self, user_id: uuid.UUID) -> dict[str, NotificationPreference]:
        rows = await self.session.scalars(
            select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        )
        return {row.topic: row for row in rows}

    async def upsert(self, user_id: uuid.UUID, topic: str, *, email: bool, sms: bool) -> None:
        statement = insert(NotificationPreference).values(user_id=user_id, topic=topic, email=email, sms=sms)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[NotificationPreference.user_id, NotificationPreference.topic],
                set_={"email": email, "sms": sms, "updated_at": statement.excluded.updated_at},
            )
        )
