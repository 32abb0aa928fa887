"""Email and phone verification with 6-digit codes. Each use case commits once.

A code is single-use, expires after VERIFICATION_CODE_TTL_SECONDS (at most 10 minutes) and is
burned after five wrong guesses; sending a new code voids the older one. Sends are limited per
account (and, for SMS, per number) so the endpoints cannot be used to spam anyone.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts import service as accounts
from mcm_auth.accounts.errors import AccountUnavailable
from mcm_auth.accounts.events import announce
from mcm_auth.accounts.models import User
from mcm_auth.ratelimit import hit
from mcm_auth.runtime import AuthRuntime
from mcm_auth.security.secrets import code_hash, new_code, same
from mcm_auth.verification.errors import AlreadyVerified, InvalidCode, NoEmailAddress
from mcm_auth.verification.models import MAX_ATTEMPTS, VerificationCode
from mcm_auth.verification.repository import CodeRepository
from mcm_auth.verification.schemas import CodeSent

EMAIL, PHONE = "email", "phone"


async def _new_code(session: AsyncSession, runtime: AuthRuntime, user: User, purpose: str, target: str) -> str:
    now = datetime.now(UTC)
    repo = CodeRepository(session)
    await repo.void_open(user.id, purpose, now)
    code, code_id = new_code(), uuid.uuid4()
    ttl = runtime.settings.verification_code_ttl_seconds
    await repo.add(
        VerificationCode(
            id=code_id,
            user_id=user.id,
            purpose=purpose,
            target=target,
            code_hash=code_hash(code, str(code_id)),
            expires_at=now + timedelta(seconds=ttl),
        )
    )
    return code


async def queue_email_code(session: AsyncSession, runtime: AuthRuntime, user: User) -> None:
    """Send a fresh email code inside the caller's transaction (used at registration too)."""
    if user.email is None:
        return
    code = await _new_code(session, runtime, user, EMAIL, user.email)
    minutes = runtime.settings.verification_code_ttl_seconds // 60
    await runtime.outbound.queue_email(
        session, user.email, "verify_email", {"display_name": user.display_name, "code": code, "minutes": minutes}
    )


async def resend_email_code(session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID) -> CodeSent:
    user = await accounts.signed_in_user(session, user_id)
    if user.email_verified_at is not None:
        raise AlreadyVerified("The email address is already verified.")
    await _limit_sends(runtime, f"auth:verify:email:{user.id}", per_hour=runtime.settings.verification_sends_per_hour)
    await queue_email_code(session, runtime, user)
    await session.commit()
    return CodeSent(expires_in=runtime.settings.verification_code_ttl_seconds)


async def resend_email_code_on_behalf(session: AsyncSession, runtime: AuthRuntime, *, user: User) -> CodeSent:
    """Support's resend for him: the code goes to his address, under the same limits as his own
    resends (the same counters). The caller commits (with its audit entry)."""
    if user.email is None:
        raise NoEmailAddress("The account has no email address to verify.")
    if user.email_verified_at is not None:
        raise AlreadyVerified("The email address is already verified.")
    await _limit_sends(runtime, f"auth:verify:email:{user.id}", per_hour=runtime.settings.verification_sends_per_hour)
    await queue_email_code(session, runtime, user)
    return CodeSent(expires_in=runtime.settings.verification_code_ttl_seconds)


async def request_phone_code(
    session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID, phone: str
) -> CodeSent:
    user = await accounts.signed_in_user(session, user_id)
    if user.phone == phone and user.phone_verified_at is not None:
        raise AlreadyVerified("This number is already verified.")
    settings = runtime.settings
    await _limit_sends(runtime, f"auth:verify:phone-number:{phone}", per_hour=settings.sms_per_number_per_hour)
    await _limit_sends(runtime, f"auth:verify:phone-user:{user.id}", per_hour=settings.sms_per_account_per_hour)
    code = await _new_code(session, runtime, user, PHONE, phone)
    await runtime.outbound.queue_sms(
        session, phone, "verify_phone", {"code": code, "minutes": settings.verification_code_ttl_seconds // 60}
    )
    await session.commit()
    return CodeSent(expires_in=settings.verification_code_ttl_seconds)


async def verify(session: AsyncSession, runtime: AuthRuntime, *, user_id: uuid.UUID, purpose: str, code: str) -> None:
    now = datetime.now(UTC)
    user = await accounts.get_user(session, user_id)
    if user is None:  # the caller's dependency loaded it a moment ago
        raise AccountUnavailable("The session has ended; sign in again.")
    if purpose == EMAIL and user.email_verified_at is not None:
        raise AlreadyVerified("The email address is already verified.")
    row = await CodeRepository(session).count_attempt(user_id, purpose, now)
    if row is None:
        await session.rollback()
        raise InvalidCode("The code is wrong, used or expired; ask for a new one.")
    if not same(row.code_hash, code_hash(code, str(row.id))):
        left = MAX_ATTEMPTS - row.attempts
        if left <= 0:
            row.consumed_at = now  # burned: only a new code can help now
        await session.commit()  # the spent guess must count even though we refuse
        raise InvalidCode(
            "The code is wrong." + (f" {left} attempt(s) left." if left else " Ask for a new code."),
            extra={"attempts_left": left},
        )
    row.consumed_at = now
    if purpose == EMAIL:
        if row.target == user.email:
            user.email_verified_at = now
    else:
        user.phone, user.phone_verified_at = row.target, now
    # Other services gate some things on proved contact (e.g. events that need a verified email).
    await announce(session, runtime.events, "user.updated", user)
    await session.commit()


async def _limit_sends(runtime: AuthRuntime, key: str, *, per_hour: int) -> None:
    # A short cooldown stops rapid-fire resends; the hourly cap stops slow, steady abuse.
    await hit(
        runtime.redis,
        key + ":cooldown",
        limit=1,
        window_seconds=runtime.settings.verification_resend_cooldown_seconds,
        detail="Please wait before asking for another code.",
    )
    await hit(
        runtime.redis,
        key + ":hour",
        limit=per_hour,
        window_seconds=3600,
        detail="Too many codes requested; try again later.",
    )


async def void_open_codes(session: AsyncSession, user_id: uuid.UUID, purpose: str, now: datetime) -> None:
    """Make every unused code of the user for `purpose` worthless (in the caller's transaction)."""
    await CodeRepository(session).void_open(user_id, purpose, now)
