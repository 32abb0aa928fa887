"""SQL for users."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.models import User


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def get_for_update(self, user_id: uuid.UUID) -> User | None:
        """The row re-read from the database (not the copy this session may already hold) and
        locked until commit."""
        return await self.session.scalar(
            select(User).where(User.id == user_id).with_for_update().execution_options(populate_existing=True)
        )

    async def get_for_share(self, user_id: uuid.UUID) -> User | None:
        """The row re-read and share-locked until commit: nothing can change it meanwhile (every
        change locks it for update), yet concurrent sign-ins of one account do not queue."""
        return await self.session.scalar(
            select(User).where(User.id == user_id).with_for_update(read=True).execution_options(populate_existing=True)
        )

    async def by_email(self, email: str) -> User | None:
        return await self.session.scalar(select(User).where(User.email == email))

    async def by_google_subject(self, subject: str) -> User | None:
        return await self.session.scalar(select(User).where(User.google_subject == subject))

    async def add(self, user: User) -> None:
        self.session.add(user)
        await self.session.flush()
