"""The user's own record, and the account look-ups other packages build on (they call these,
never the accounts repository). Each use case here commits once."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.errors import AccountUnavailable
from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.accounts.repository import UserRepository
from mcm_auth.accounts.schemas import Me
from mcm_auth.runtime import AuthRuntime


async def get_user(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await UserRepository(session).get(user_id)


async def get_user_for_update(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The row re-read and locked until commit (see UserRepository.get_for_update)."""
    return await UserRepository(session).get_for_update(user_id)


async def get_user_for_share(session: AsyncSession, user_id: uuid.UUID) -> User | None:
    """The row re-read and share-locked until commit (see UserRepository.get_for_share)."""
    return await UserRepository(session).get_for_share(user_id)


async def user_by_email(session: AsyncSession, email: str) -> User | None:
    return await UserRepository(session).by_email(email)


async def user_by_google_subject(session: AsyncSession, subject: str) -> User | None:
    return await UserRepository(session).by_google_subject(subject)


async def add_user(session: AsyncSession, user: User) -> None:
    """Insert and flush (a duplicate email or Google subject raises IntegrityError here)."""
    await UserRepository(session).add(user)


async def signed_in_user(session: AsyncSession, user_id: uuid.UUID) -> User:
    """The caller's own account, which the request's dependency has just checked exists;
    locked for update."""
    user = await get_user_for_update(session, user_id)
    if user is None:
        raise AccountUnavailable("The session has ended; sign in again.")
    return user


async def rename(session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID, display_name: str) -> User:
    user = await signed_in_user(session, user_id)
    if user.display_name != display_name:
        user.display_name = display_name
        await announce(session, runtime.events, "user.updated", user)
        await session.commit()
    return user


def to_me(user: User) -> Me:
    return Me(
        id=user.id,
        email=user.email,
        email_verified=user.email_verified_at is not None,
        phone=user.phone,
        phone_verified=user.phone_verified_at is not None,
        display_name=user.display_name,
        roles=user.roles,
        created_at=user.created_at,
    )
