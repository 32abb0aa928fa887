"""Profiles: created on first use from the token, kept in step with auth's user events.

Auth's events may arrive late, twice or out of order: each carries the time it happened and a
profile only takes changes newer than the last one applied. Erasure is final.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.profiles.models import ERASED_NAME, Profile
from mcm_circles.profiles.repository import ProfileRepository
from mcm_circles.profiles.schemas import Profile as ProfileOut
from mcm_circles.profiles.schemas import ProfileUpdate
from mcm_shared.security import Principal


async def ensure_profile(session: AsyncSession, principal: Principal) -> uuid.UUID:
    """The caller's user id, with a minimal profile created if auth's event has not arrived yet."""
    user_id = actor_id(principal)
    await ProfileRepository(session).ensure(user_id)
    return user_id


def _out(profile: Profile) -> ProfileOut:
    return ProfileOut(
        user_id=profile.user_id,
        display_name=profile.public_name,
        verified_email=profile.verified_email,
        verified_phone=profile.verified_phone,
        directory_visible=profile.directory_visible,
    )


async def ensure_exists(session: AsyncSession, user_id: uuid.UUID) -> None:
    """A minimal profile for a user another service told us about, unless one exists."""
    await ProfileRepository(session).ensure(user_id)


async def my_profile(session: AsyncSession, principal: Principal) -> ProfileOut:
    user_id = await ensure_profile(session, principal)
    profile = await ProfileRepository(session).get(user_id)
    await session.commit()
    if profile is None:  # ensured just above
        raise RuntimeError("profile is missing")
    return _out(profile)


async def update_my_profile(session: AsyncSession, principal: Principal, changes: ProfileUpdate) -> ProfileOut:
    """The member's own settings here: today whether the staff directory shows him."""
    user_id = await ensure_profile(session, principal)
    profile = await ProfileRepository(session).get(user_id, lock=True)
    if profile is None:  # ensure_profile has just made sure it exists
        raise LookupError(user_id)
    if changes.directory_visible is not None:
        profile.directory_visible = changes.directory_visible
    await session.flush()
    await session.commit()
    return _out(profile)


def _flag(payload: dict[str, Any], *names: str) -> bool | None:
    for name in names:
        value = payload.get(name)
        if isinstance(value, bool):
            return value
    return None


def _display_name(payload: dict[str, Any]) -> str | None:
    value = payload.get("display_name")
    if isinstance(value, str) and value.strip():
        return value.strip()[:100]
    return None


async def apply_user_fields(
    session: AsyncSession, user_id: uuid.UUID, payload: dict[str, Any], occurred_at: datetime
) -> Profile | None:
    """`user.registered` / `user.updated`: take the fields present, if newer than what we have.

    Returns the profile when it changed, None when the event was stale or the user is erased.
    """
    repo = ProfileRepository(session)
    await repo.ensure(user_id, _display_name(payload) or "Member")
    profile = await repo.get(user_id, lock=True)
    if profile is None:  # ensured just above
        raise RuntimeError("profile is missing")
    if profile.erased_at is not None or (profile.synced_at is not None and occurred_at < profile.synced_at):
        return None
    name = _display_name(payload)
    if name is not None:
        profile.display_name = name
    email = _flag(payload, "verified_email", "email_verified")
    if email is not None:
        profile.verified_email = email
    phone = _flag(payload, "verified_phone", "phone_verified")
    if phone is not None:
        profile.verified_phone = phone
    profile.synced_at = occurred_at
    await session.flush()
    return profile


async def anonymise(session: AsyncSession, user_id: uuid.UUID, occurred_at: datetime) -> bool:
    """`user.erased`: keep the row (history and counts point at it), drop what identifies him.

    Returns False when the profile was already erased (a re-delivered event).
    """
    repo = ProfileRepository(session)
    await repo.ensure(user_id, ERASED_NAME)
    profile = await repo.get(user_id, lock=True)
    if profile is None:  # ensured just above
        raise RuntimeError("profile is missing")
    if profile.erased_at is not None:
        return False
    profile.display_name = ERASED_NAME
    profile.verified_email = False
    profile.verified_phone = False
    profile.erased_at = occurred_at
    profile.synced_at = occurred_at
    await session.flush()
    return True


async def get_profile(session: AsyncSession, user_id: uuid.UUID) -> Profile | None:
    """The stored profile of a user (erased ones included: callers decide what that means)."""
    return await ProfileRepository(session).get(user_id)
