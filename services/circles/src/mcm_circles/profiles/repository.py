"""SQL for member profiles."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.profiles.models import ERASED_NAME, PLACEHOLDER_NAME, Profile


class ProfileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def ensure(self, user_id: uuid.UUID, display_name: str = PLACEHOLDER_NAME) -> None:
        """Create a minimal profile unless one exists (concurrent callers are fine)."""
        await self.session.execute(
            insert(Profile)
            .values(user_id=user_id, display_name=display_name)
            .on_conflict_do_nothing(index_elements=[Profile.user_id])
        )

    async def get(self, user_id: uuid.UUID, *, lock: bool = False) -> Profile | None:
        stmt = select(Profile).where(Profile.user_id == user_id).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def names(self, user_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
        ids = set(user_ids)
        if not ids:
            return {}
        rows = await self.session.execute(
            select(Profile.user_id, Profile.display_name, Profile.erased_at).where(Profile.user_id.in_(ids))
        )
        return {user_id: ERASED_NAME if erased_at else name for user_id, name, erased_at in rows}
