"""Sign-in throttling in Redis: attempts per client address and failures per account.

Counters are keyed by a hash of the email, whether or not an account exists, so the limits
themselves never reveal which addresses are registered. Once an account's failures reach the
limit it is locked for a while and even the right password is refused.
"""
from __future__ import annotations

import hashlib

from redis.asyncio import Redis

from mcm_shared.errors import RateLimited

from mcm_auth.config import Settings
from mcm_auth.ratelimit import hit


def _email_key(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


class LoginThrottle:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    async def count_ip(self, ip: str) -> None:
        await hit(
            self.redis,
            f"auth:login:ip:{ip}",
            limit=self.settings.login_max_attempts_per_ip,
            window_seconds=self.settings.login_ip_window_seconds,
            detail="Too many sign-in attempts from this address.",
        )

    async def ensure_not_locked(self, email: str) -> None:
        ttl = await self.redis.ttl(f"auth:login:lock:{_email_key(email)}")
        if ttl and ttl > 0:
            raise RateLimited(ttl, "Too many failed sign-ins for this account; try again later.")

    async def record_failure(self, email: str) -> None:
        ident = _email_key(email)
        key = f"auth:login:fail:{ident}"
        lockout = self.settings.login_lockout_seconds
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, ex=lockout, nx=True)
            pipe.incr(key)
            _, count = await pipe.execute()
        if count >= self.settings.login_max_failures_per_account:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.set(f"auth:login:lock:{ident}", "1", ex=lockout)
                pipe.delete(key)
                await pipe.execute()

    async def reset(self, email: str) -> None:
        await self.redis.delete(f"auth:login:fail:{_email_key(email)}")

    async def unlock(self, email: str) -> None:
        """A proven owner (password reset) gets back in at once."""
        ident = _email_key(email)
        await self.redis.delete(f"auth:login:fail:{ident}", f"auth:login:lock:{ident}")
