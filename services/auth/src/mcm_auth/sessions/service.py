"""Sign-in and refresh-token rotation. Each use case commits once.

Sign-in rule: bcrypt never runs inside a transaction. Login reads the account, ends that
read-only transaction (handing the pooled connection back), checks the password, then writes the
session in a second short transaction that re-reads the row share-locked and goes on only if it
still holds the very hash that was checked and the account is still active, so a password
changed, an account disabled or erased meanwhile cannot be signed in with what was read before.

Guessing rule (throttle.py): a client address that failed too often for an account is refused;
past the account-wide bound a correct password also needs the emailed one-time code
(signin_codes.py). Only a correct password ever gets the answer that asks for the code.

Refresh rule: a refresh token is claimed by one conditional UPDATE, so of two concurrent uses
exactly one wins. Presenting a token that was already rotated is treated as theft: the whole
session (its family of tokens) is revoked, whoever presents it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.models import User
from mcm_auth.runtime import AuthRuntime
from mcm_auth.security.secrets import new_token, token_hash
from mcm_auth.sessions import revocation, signin_codes
from mcm_auth.sessions.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidSignInCode,
    SignInCodeRequired,
)
from mcm_auth.sessions.models import Session
from mcm_auth.sessions.repository import SessionRepository
from mcm_auth.sessions.schemas import TokenPair
from mcm_auth.sessions.throttle import LoginThrottle
from mcm_auth.sessions.tokens import access_token


@dataclass(frozen=True)
class ClientInfo:
    ip_address: str | None
    user_agent: str | None


def _pair(runtime: AuthRuntime, user: User, record: Session, refresh: str, now: datetime) -> TokenPair:
    settings = runtime.settings
    token, expires_at = access_token(
        runtime.keyring,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        subject=str(user.id),
        roles=user.roles,
        session_id=record.id,
        now=now,
        ttl_seconds=settings.access_token_ttl_seconds,
    )
    record.access_expires_at = expires_at
    return TokenPair(access_token=token, refresh_token=refresh, expires_in=settings.access_token_ttl_seconds)


async def start_session(session: AsyncSession, runtime: AuthRuntime, user: User, client: ClientInfo) -> TokenPair:
    """Open a session for a user who has just proved who they are; the caller commits."""
    now = datetime.now(UTC)
    refresh = new_token()
    record = Session(
        id=uuid.uuid4(),
        user_id=user.id,
        user_agent=(client.user_agent or "")[:256] or None,
        ip_address=client.ip_address,
        last_used_at=now,
        expires_at=now + timedelta(seconds=runtime.settings.refresh_absolute_ttl_seconds),
        access_expires_at=now,
    )
    pair = _pair(runtime, user, record, refresh, now)
    await SessionRepository(session).add(record, token_hash(refresh), now)
    return pair


async def login(
    session: AsyncSession,
    runtime: AuthRuntime,
    *,
    email: str,
    password: str,
    client: ClientInfo,
    code: str | None = None,
) -> TokenPair:
    throttle = LoginThrottle(runtime.redis, runtime.settings)
    await throttle.count_ip(client.ip_address)
    await throttle.ensure_client_allowed(email, client.ip_address)
    user = await accounts.user_by_email(session, email)
    checked_hash = user.password_hash if user else None
    await session.commit()  # read-only: gives the connection back before bcrypt (module docstring)
    # An unknown email still pays for one bcrypt check, so timing does not tell them apart.
    ok = await runtime.hasher.verify(password, checked_hash)
    if not ok or user is None:
        await throttle.record_failure(email, client.ip_address)
        raise InvalidCredentials("Invalid email or password.")
    # Past here the caller knows the password, so the answers below reveal nothing new.
    step_up = await throttle.needs_step_up(email)
    if step_up and code is not None and not await signin_codes.redeem(runtime.redis, user.id, code):
        raise InvalidSignInCode("The sign-in code is wrong, used or expired; sign in again to get a new one.")
    user = await accounts.get_user_for_share(session, user.id)
    if user is None or user.password_hash != checked_hash:
        # The password was changed (or the account erased) while the old one was being checked.
        await session.rollback()
        raise InvalidCredentials("Invalid email or password.")
    if not user.active:
        await session.rollback()
        raise AccountDisabled("This account is disabled.")
    if step_up and code is None:
        await signin_codes.send(session, runtime, user)
        await session.commit()
        raise SignInCodeRequired(
            "Someone has been trying wrong passwords on this account, so we emailed you a sign-in code; "
            "send it with your email and password to finish signing in."
        )
    await throttle.succeeded(email, client.ip_address)
    pair = await start_session(session, runtime, user, client)
    await session.commit()
    return pair


async def refresh(session: AsyncSession, runtime: AuthRuntime, *, refresh_token: str) -> TokenPair:
    now = datetime.now(UTC)
    hashed = token_hash(refresh_token)
    repo = SessionRepository(session)
    session_id = await repo.claim_refresh_token(hashed, now)
    if session_id is None:
        await _handle_unusable(session, runtime, hashed)
        raise InvalidRefreshToken("The refresh token is invalid or has expired.")
    record = await repo.get_for_update(session_id)
    user = await accounts.get_user(session, record.user_id) if record else None
    idle_limit = timedelta(seconds=runtime.settings.refresh_idle_ttl_seconds)
    if (
        record is None
        or user is None
        or record.revoked_at is not None
        or record.expires_at <= now
        or record.last_used_at + idle_limit <= now
        or not user.active
    ):
        await session.rollback()
        raise InvalidRefreshToken("The refresh token is invalid or has expired.")
    fresh = new_token()
    record.last_used_at = now
    # Roles are read again here, so a promotion applies at the next refresh.
    pair = _pair(runtime, user, record, fresh, now)
    await repo.add_refresh_token(record.id, token_hash(fresh), now)
    await session.commit()
    return pair


async def _handle_unusable(session: AsyncSession, runtime: AuthRuntime, hashed: str) -> None:
    """A token that exists but was already rotated is reuse: revoke its whole family."""
    repo = SessionRepository(session)
    session_id = await repo.rotated_token_session(hashed)
    if session_id is None:
        return
    record = await repo.get(session_id)
    if record is None or record.revoked_at is not None:
        return
    await revocation.revoke_sessions(session, runtime.redis, record.user_id, "refresh_reuse", only=record.id)
    await session.commit()
