"""Registration with a password. Each use case commits once.

Registering an address that already has an account answers exactly like a new registration
(same status, same body, one bcrypt hash spent either way) and mails the owner instead, so the
endpoint cannot be used to find out who has an account.
"""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.accounts.service import add_user, user_by_email
from mcm_auth.ratelimit import hit
from mcm_auth.registration.schemas import Registration
from mcm_auth.runtime import AuthRuntime
from mcm_auth.verification.service import queue_email_code
from mcm_shared.security import Role


async def register(session: AsyncSession, runtime: AuthRuntime, data: Registration, *, client_ip: str | None) -> None:
    await hit(
        runtime.redis,
        f"auth:register:ip:{client_ip or 'unknown'}",
        limit=runtime.settings.register_max_per_ip,
        window_seconds=runtime.settings.register_ip_window_seconds,
        detail="Too many sign-ups from this address; try again later.",
    )
    # Hashed before the first query, so no transaction (no pooled connection) waits on bcrypt.
    password_hash = await runtime.hasher.hash(data.password)
    existing = await user_by_email(session, data.email)
    if existing is not None:
        await _tell_owner(session, runtime, existing)
        return
    user = User(
        id=uuid.uuid4(),
        email=data.email,
        display_name=data.display_name,
        password_hash=password_hash,
        roles=[Role.MEMBER.value],
    )
    try:
        await add_user(session, user)
        await after_registration(session, runtime, user)
        await session.commit()
    except IntegrityError:
        # A concurrent sign-up with the same address won the unique constraint.
        await session.rollback()
        existing = await user_by_email(session, data.email)
        if existing is not None:
            await _tell_owner(session, runtime, existing)


async def after_registration(session: AsyncSession, runtime: AuthRuntime, user: User) -> None:
    """What every new account gets, inside its creating transaction."""
    await announce(session, runtime.events, "user.registered", user)
    await queue_email_code(session, runtime, user)


async def _tell_owner(session: AsyncSession, runtime: AuthRuntime, user: User) -> None:
    if user.email and user.active:
        await runtime.outbound.queue_email(session, user.email, "account_exists", {"display_name": user.display_name})
        await session.commit()
