"""SQL for published keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.keys.models import PublishedKey


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_if_missing(self, kid: str, jwk: dict[str, Any], now: datetime) -> None:
        statement = insert(PublishedKey).values(kid=kid, public_jwk=jwk, created_at=now).on_conflict_do_nothing()
        await self.session.execute(statement)

    async def get(self, kid: str) -> PublishedKey | None:
        return await self.session.get(PublishedKey, kid)

    async def retire_older_than(self, kid: str, created_at: datetime, now: datetime) -> None:
        await self.session.execute(
            update(PublishedKey)
            .where(PublishedKey.kid != kid, PublishedKey.created_at < created_at, PublishedKey.retired_at.is_(None))
            .values(retired_at=now)
        )

    async def published_since(self, cutoff: datetime) -> list[PublishedKey]:
        rows = await self.session.scalars(
            select(PublishedKey)
            .where(or_(PublishedKey.retired_at.is_(None), PublishedKey.retired_at > cutoff))
            .order_by(PublishedKey.created_at.desc())
        )
        return list(rows)
