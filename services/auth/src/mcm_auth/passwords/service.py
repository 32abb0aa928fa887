"""Password reset and change. Each use case commits once.

A reset request always answers the same (202), whether or not the address has an account.
Setting a new password, by reset or by change, revokes sessions and tells the owner by email.

bcrypt never runs inside a transaction (see sessions/service.py): a reset hashes the new password
before it touches the database; a change reads the account, ends that transaction, checks the
current password and hashes the new one, then writes only if the row (locked) still holds the
hash that was checked.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.errors import AccountUnavailable
from mcm_auth.accounts.models import User
from mcm_auth.passwords.errors import InvalidResetToken, NoResetPossible, WrongCurrentPassword
from mcm_auth.passwords.models import PasswordReset
from mcm_auth.passwords.repository import ResetRepository
from mcm_auth.ratelimit import hit
from mcm_auth.runtime import AuthRuntime
from mcm_auth.security.secrets import new_token, token_hash
from mcm_auth.sessions.models import Session
from mcm_auth.sessions.revocation import revoke_sessions
from mcm_auth.sessions.throttle import LoginThrottle
from mcm_shared.errors import RateLimited

RESETS_PER_ACCOUNT_PER_HOUR = 3


async def request_reset(session: AsyncSession, runtime: AuthRuntime, *, email: str, client_ip: str | None) -> None:
    await hit(
        runtime.redis,
        f"auth:reset:ip:{client_ip or 'unknown'}",
        limit=20,
        window_seconds=3600,
        detail="Too many reset requests from this address.",
    )
    user = await accounts.user_by_email(session, email)
    if user is None or not user.active:
        return
    try:
        # Per account the limit is silent: the answer stays 202 so it reveals nothing.
        await hit(
            runtime.redis,
            f"auth:reset:user:{user.id}",
            limit=RESETS_PER_ACCOUNT_PER_HOUR,
            window_seconds=3600,
            detail="",
        )
    except RateLimited:
        return
    await queue_reset(session, runtime, user=user, email=email)
    await session.commit()


async def start_reset_on_behalf(session: AsyncSession, runtime: AuthRuntime, *, user: User) -> None:
    """Support starts a reset for him: the link goes to his own address (never to support, never
    in the answer), under the same per-account limit as his own requests (here a 429 is fine:
    support knows the account exists). The caller commits (with its audit entry)."""
    if user.email is None or not user.active:
        raise NoResetPossible("The account has no email address to send a reset link to, or is not active.")
    await hit(
        runtime.redis,
        f"auth:reset:user:{user.id}",
        limit=RESETS_PER_ACCOUNT_PER_HOUR,
        window_seconds=3600,
        detail="Too many reset links for this account; try again later.",
    )
    await queue_reset(session, runtime, user=user, email=user.email)


async def queue_reset(session: AsyncSession, runtime: AuthRuntime, *, user: User, email: str) -> None:
    """A fresh reset link (earlier ones void) emailed to `email`, in the caller's transaction."""
    now = datetime.now(UTC)
    token = new_token()
    ttl = runtime.settings.password_reset_ttl_seconds
    repo = ResetRepository(session)
    await repo.void_open(user.id, now)
    await repo.add(
        PasswordReset(
            id=uuid.uuid4(), user_id=user.id, token_hash=token_hash(token), expires_at=now + timedelta(seconds=ttl)
        )
    )
    link = f"{runtime.settings.public_app_url.rstrip('/')}/reset-password?token={quote(token)}"
    await runtime.outbound.queue_email(
        session, email, "password_reset", {"display_name": user.display_name, "link": link, "minutes": ttl // 60}
    )


async def confirm_reset(session: AsyncSession, runtime: AuthRuntime, *, token: str, new_password: str) -> None:
    password_hash = await runtime.hasher.hash(new_password)  # first: no transaction is open yet
    reset = await ResetRepository(session).claim(token_hash(token), datetime.now(UTC))
    user = await accounts.get_user_for_update(session, reset.user_id) if reset else None
    if reset is None or user is None or not user.active:
        await session.rollback()
        raise InvalidResetToken("The reset link is invalid, used or expired.")
    await _set_password(session, runtime, user, password_hash, keep_session=None)
    await LoginThrottle(runtime.redis, runtime.settings).clear_account(user.email or "")
    await session.commit()


async def change_password(
    session: AsyncSession,
    runtime: AuthRuntime,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    current: str,
    new_password: str,
    client_ip: str | None,
) -> None:
    user = await accounts.get_user(session, user_id)
    if user is None:  # the caller's dependency loaded it a moment ago
        raise AccountUnavailable("The session has ended; sign in again.")
    checked_hash, throttle_key = user.password_hash, user.email or str(user.id)
    await session.commit()  # read-only (the caller's checks too): no connection held through bcrypt
    throttle = LoginThrottle(runtime.redis, runtime.settings)
    await throttle.ensure_client_allowed(throttle_key, client_ip)
    if not await runtime.hasher.verify(current, checked_hash):
        # Counts like a failed sign-in, so a stolen session cannot guess the password freely.
        await throttle.record_failure(throttle_key, client_ip)
        raise WrongCurrentPassword("The current password is not correct.")
    password_hash = await runtime.hasher.hash(new_password)
    user = await accounts.get_user_for_update(session, user_id)
    record = await session.get(Session, session_id, populate_existing=True)
    if user is None or not user.active or record is None or record.revoked_at is not None:
        await session.rollback()
        raise AccountUnavailable("The session has ended; sign in again.")
    if user.password_hash != checked_hash:
        # Changed or reset meanwhile: what was proved is no longer the current password.
        await session.rollback()
        raise WrongCurrentPassword("The current password is not correct.")
    await _set_password(session, runtime, user, password_hash, keep_session=session_id)
    await session.commit()


async def _set_password(
    session: AsyncSession, runtime: AuthRuntime, user: User, password_hash: str, *, keep_session: uuid.UUID | None
) -> None:
    now = datetime.now(UTC)
    user.password_hash = password_hash
    user.password_changed_at = now
    await ResetRepository(session).void_open(user.id, now)
    await revoke_sessions(session, runtime.redis, user.id, "password_changed", keep=keep_session)
    if user.email:
        await runtime.outbound.queue_email(session, user.email, "password_changed", {"display_name": user.display_name})


async def void_open_resets(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    """Make every unused reset link of the user worthless (in the caller's transaction)."""
    await ResetRepository(session).void_open(user_id, now)
