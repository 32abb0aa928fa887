"""SQL for password resets."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.passwords.models import PasswordReset


class ResetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def void_open(self, user_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )

    async def add(self, reset: PasswordReset) -> None:
        self.session.add(reset)
        await self.session.flush()

    async def claim(self, token_hash: str, now: datetime) -> PasswordReset | None:
        """Use the token atomically: of two concurrent confirmations only one gets the row."""
        return await self.session.scalar(
            update(PasswordReset)
            .where(
                PasswordReset.token_hash == token_hash, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now
            )
            .values(used_at=now)
            .returning(PasswordReset)
        )

    async def latest_for(self, user_id: uuid.UUID) -> PasswordReset | None:
        return await self.session.scalar(
            select(PasswordReset)
            .where(PasswordReset.user_id == user_id)
            .order_by(PasswordReset.created_at.desc())
            .limit(1)
        )
