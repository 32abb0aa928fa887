"""Google sign-in use cases. Each use case commits once.

The frontend asks `start` for the provider URL, sends the user there, and posts the returned
`code` and `state` back. The state lives in Redis for ten minutes and is consumed on first use
(GETDEL), and it carries the PKCE verifier and the nonce, so a code is only redeemable by the
sign-in that asked for it. An account is matched by Google subject, then by a Google-verified
email address (linking the existing account), else created.

Linking to an account whose email nobody had verified first clears what its registrant set up
(password, phone, sessions): the address may have been registered by someone else to wait for
the owner's Google sign-in (see docs/auth.md, "Google sign-in").
"""

from __future__ import annotations

import contextlib
import json
import secrets
import uuid
from datetime import UTC, datetime
from urllib.parse import urlencode

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.accounts.rules import clean_display_name, normalise_email
from mcm_auth.google.errors import GoogleDisabled, InvalidState
from mcm_auth.google.schemas import AuthorizationStart
from mcm_auth.oidc.client import GoogleIdentity, new_pkce
from mcm_auth.oidc.errors import GoogleRejected
from mcm_auth.passwords.service import void_open_resets
from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions.errors import AccountDisabled
from mcm_auth.sessions.revocation import revoke_sessions
from mcm_auth.sessions.schemas import TokenPair
from mcm_auth.sessions.service import ClientInfo, start_session
from mcm_auth.verification.service import void_open_codes
from mcm_shared.security import Role

STATE_TTL_SECONDS = 600


def _state_key(state: str) -> str:
    return f"auth:oidc:state:{state}"


async def start(runtime: AuthRuntime) -> AuthorizationStart:
    settings = runtime.settings
    if not settings.google_client_id:
        raise GoogleDisabled("Google sign-in is not enabled.")
    state, nonce, pkce = secrets.token_urlsafe(32), secrets.token_urlsafe(32), new_pkce()
    await runtime.redis.set(
        _state_key(state), json.dumps({"verifier": pkce.verifier, "nonce": nonce}), ex=STATE_TTL_SECONDS
    )
    query = urlencode(
        {
            "response_type": "code",
            "client_id": settings.google_client_id,
            "redirect_uri": settings.google_redirect_uri,
            "scope": "openid email profile",
            "state": state,
            "nonce": nonce,
            "code_challenge": pkce.challenge,
            "code_challenge_method": "S256",
            "prompt": "select_account",
        }
    )
    return AuthorizationStart(authorization_url=f"{settings.google_authorization_endpoint}?{query}", state=state)


async def finish(
    session: AsyncSession, runtime: AuthRuntime, *, code: str, state: str, client: ClientInfo
) -> TokenPair:
    if not runtime.settings.google_client_id:
        raise GoogleDisabled("Google sign-in is not enabled.")
    stored = await runtime.redis.getdel(_state_key(state))
    if stored is None:
        raise InvalidState("The sign-in attempt is unknown, used or expired; start again.")
    attempt = json.loads(stored)
    identity = await runtime.oidc.verify(await runtime.oidc.exchange(code, attempt["verifier"]), attempt["nonce"])
    user = await _account_for(session, runtime, identity)
    if not user.active:
        raise AccountDisabled("This account is disabled.")
    pair = await start_session(session, runtime, user, client)
    await session.commit()
    return pair


async def _take_from_squatter(
    session: AsyncSession, runtime: AuthRuntime, user: User, identity: GoogleIdentity, now: datetime
) -> None:
    """Google has proved who owns this address; nobody had proved it for this account. Whoever
    registered it may not be the owner, so nothing they set up survives the link: the password,
    the phone number and every session go (revocations published), and the name becomes the
    owner's. The owner can set a password later through a reset."""
    user.password_hash = None
    user.password_changed_at = now
    user.phone = user.phone_verified_at = None
    with contextlib.suppress(ValueError):  # an unusable Google name keeps the old one
        user.display_name = clean_display_name(identity.name or user.display_name)
    await void_open_resets(session, user.id, now)
    await void_open_codes(session, user.id, "phone", now)
    await revoke_sessions(session, runtime.redis, user.id, "google_link")


async def _account_for(session: AsyncSession, runtime: AuthRuntime, identity: GoogleIdentity) -> User:
    user = await accounts.user_by_google_subject(session, identity.subject)
    if user is not None:
        return user
    if not identity.email_verified:
        # An unproved address could be someone else's: never link or create on it.
        raise GoogleRejected("Google has not verified this email address.")
    try:
        email = normalise_email(identity.email)
    except ValueError:
        raise GoogleRejected("Google shared an email address we cannot use.") from None
    now = datetime.now(UTC)
    user = await accounts.user_by_email(session, email)
    if user is not None:
        user = await accounts.get_user_for_update(session, user.id)
        if user is None:  # erased or renamed between the two reads
            raise GoogleRejected("The account changed during sign-in; try again.")
        if user.email_verified_at is None:
            await _take_from_squatter(session, runtime, user, identity, now)
        user.google_subject = identity.subject
        if user.email_verified_at is None:
            user.email_verified_at = now
            await announce(session, runtime.events, "user.updated", user)
        return user
    try:
        name = clean_display_name(identity.name or email.split("@")[0])
    except ValueError:
        name = email.split("@")[0][:64]
    user = User(
        id=uuid.uuid4(),
        email=email,
        display_name=name,
        password_hash=None,
        roles=[Role.MEMBER.value],
        email_verified_at=now,
        google_subject=identity.subject,
    )
    try:
        await accounts.add_user(session, user)
    except IntegrityError:
        await session.rollback()
        raise GoogleRejected("This Google account was just linked by another sign-in; try again.") from None
    await announce(session, runtime.events, "user.registered", user)
    return user
