"""One-time sign-in codes: the step-up that lets an owner in while their account is under attack.

When the account-wide failure bound is passed (see throttle.py), a correct password alone no
longer signs in: auth emails a 6-digit code to the account's address and the client posts it
with the email and password. A code lives in Redis only as an HMAC with a random salt, expires
after `LOGIN_CODE_TTL_SECONDS`, is single use, is burned after `MAX_ATTEMPTS` wrong guesses, and
a new one replaces the old. Sending is limited per account (a short cooldown and an hourly cap),
so sign-in cannot be used to flood a mailbox; within the cooldown the last code stays valid.
"""

from __future__ import annotations

import secrets
import uuid

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.accounts.models import User
from mcm_auth.ratelimit import hit
from mcm_auth.runtime import AuthRuntime
from mcm_auth.security.secrets import code_hash, new_code
from mcm_shared.errors import RateLimited

MAX_ATTEMPTS = 5

# Atomic check-and-consume: of two concurrent right guesses exactly one wins (the DEL), and a
# wrong guess is counted before anything is compared, so guesses cannot outrun the limit.
_CHECK = """
local stored = redis.call('HGET', KEYS[1], 'hash')
if not stored then return 0 end
local salt = redis.call('HGET', KEYS[1], 'salt')
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
if attempts > tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]); return 0 end
if ARGV[1] == salt .. ':' .. stored then redis.call('DEL', KEYS[1]); return 1 end
if attempts >= tonumber(ARGV[2]) then redis.call('DEL', KEYS[1]) end
return 0
"""


def _key(user_id: uuid.UUID) -> str:
    return f"auth:login:code:{user_id}"


async def send(session: AsyncSession, runtime: AuthRuntime, user: User) -> None:
    """Email a fresh code inside the caller's transaction (the caller commits); nothing is sent
    while the account's sending limit holds, and the code sent last stays valid."""
    if user.email is None:
        return
    settings = runtime.settings
    try:
        await hit(
            runtime.redis,
            f"auth:login:code-sent:{user.id}:cooldown",
            limit=1,
            window_seconds=settings.verification_resend_cooldown_seconds,
            detail="",
        )
        await hit(
            runtime.redis,
            f"auth:login:code-sent:{user.id}:hour",
            limit=settings.login_codes_per_hour,
            window_seconds=3600,
            detail="",
        )
    except RateLimited:
        return
    code, salt = new_code(), secrets.token_hex(16)
    ttl = settings.login_code_ttl_seconds
    async with runtime.redis.pipeline(transaction=True) as pipe:
        pipe.delete(_key(user.id))
        pipe.hset(_key(user.id), mapping={"hash": code_hash(code, salt), "salt": salt, "attempts": 0})
        pipe.expire(_key(user.id), ttl)
        await pipe.execute()
    await runtime.outbound.queue_email(
        session,
        user.email,
        "signin_code",
        {"display_name": user.display_name, "code": code, "minutes": max(1, ttl // 60)},
    )


async def redeem(redis: Redis, user_id: uuid.UUID, code: str) -> bool:
    """True once for the right code; every call spends one of the code's guesses."""
    key = _key(user_id)
    salt = await redis.hget(key, "salt")
    if salt is None:
        return False
    salt_text = salt.decode() if isinstance(salt, bytes) else salt
    candidate = f"{salt_text}:{code_hash(code, salt_text)}"
    return bool(await redis.eval(_CHECK, 1, key, candidate, MAX_ATTEMPTS))
