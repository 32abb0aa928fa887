"""Who may send how much:

- credential and code endpoints (login, register, refresh, password reset, token, verify-*,
  phone, OIDC): `credential_per_minute` per endpoint per user when signed in, else per client
  IP — exact, in Redis; Redis down → 503;
- every other request: `user_per_minute` per signed-in user, `anonymous_per_minute` per client
  IP for requests without a valid token (failed sign-ins count here too) — shared through Redis
  without a round trip on the request path; Redis down → each replica limits on its own.

Refusals are 429 problem+json with `Retry-After` and the `RateLimit-*` headers. The client IP
comes from `X-Forwarded-For` only through TRUSTED_PROXIES (see headers.py).
"""

from __future__ import annotations

import logging

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mcm_gateway.ratelimit.gcra import GcraLimiter, LocalGcraLimiter
from mcm_gateway.ratelimit.shared_counter import SharedWindowCounter, ceil_seconds
from mcm_gateway.routes import Route
from mcm_shared.errors import DependencyUnavailable, RateLimited
from mcm_shared.security import Principal

logger = logging.getLogger("mcm.gateway.ratelimit")
WINDOW_SECONDS = 60
# Stripe retries refused webhooks and its signature is checked by payments; a burst of events
# from Stripe's few addresses must not be mistaken for abuse.
UNLIMITED_ANONYMOUS = frozenset({"/api/v1/payments/webhooks/stripe"})


def _policy_headers(limit: int, remaining: int, reset: float) -> list[tuple[bytes, bytes]]:
    return [
        (b"ratelimit-limit", str(limit).encode()),
        (b"ratelimit-remaining", str(max(0, remaining)).encode()),
        (b"ratelimit-reset", str(ceil_seconds(reset)).encode()),
        (b"ratelimit-policy", f"{limit};w={WINDOW_SECONDS}".encode()),
    ]


def too_many(limit: int, retry_after: float, what: str) -> RateLimited:
    error = RateLimited(ceil_seconds(retry_after), f"Too many {what}; try again in {ceil_seconds(retry_after)} s.")
    error.headers.update({name.decode(): value.decode() for name, value in _policy_headers(limit, 0, retry_after)})
    return error


class RateLimiter:
    def __init__(
        self,
        redis: Redis | None,
        *,
        user_per_minute: int,
        anonymous_per_minute: int,
        credential_per_minute: int,
        redis_timeout: float = 0.25,
    ) -> None:
        self.user_per_minute = user_per_minute
        self.anonymous_per_minute = anonymous_per_minute
        self.credential_per_minute = credential_per_minute
        self.general = SharedWindowCounter(redis, window_seconds=WINDOW_SECONDS, timeout=redis_timeout)
        self.credential = GcraLimiter(redis, timeout=redis_timeout) if redis is not None else LocalGcraLimiter()

    async def start(self) -> None:
        await self.general.start()

    async def stop(self) -> None:
        await self.general.stop()
        await self.general.flush()

    async def check(
        self, route: Route, path: str, client_ip: str, principal: Principal | None
    ) -> list[tuple[bytes, bytes]] | None:
        """Raises `RateLimited` (429) or `DependencyUnavailable` (503); returns headers to add."""
        if route.credential:
            return await self._check_credential(path, client_ip, principal)
        if principal is not None:
            who = principal.user_id or principal.subject
            retry = self.general.hit(f"user:{who}", self.user_per_minute)
            if retry:
                raise too_many(self.user_per_minute, retry, "requests")
        elif path not in UNLIMITED_ANONYMOUS:
            self.count_anonymous(client_ip)
        return None

    def count_anonymous(self, client_ip: str) -> None:
        """One request (or failed sign-in) without a valid token from `client_ip`."""
        retry = self.general.hit(f"ip:{client_ip}", self.anonymous_per_minute)
        if retry:
            raise too_many(self.anonymous_per_minute, retry, "requests")

    async def _check_credential(
        self, path: str, client_ip: str, principal: Principal | None
    ) -> list[tuple[bytes, bytes]]:
        who = f"user:{principal.user_id or principal.subject}" if principal is not None else f"ip:{client_ip}"
        limit = self.credential_per_minute
        try:
            decision = await self.credential.hit(f"{path}:{who}", limit=limit, period_seconds=WINDOW_SECONDS)
        except (RedisError, OSError, TimeoutError) as exc:
            logger.warning(
                "credential rate limit cannot reach Redis", extra={"error": type(exc).__name__, "path": path}
            )
            raise DependencyUnavailable("Sign-in is unavailable right now; please retry shortly.") from None
        if not decision.allowed:
            raise too_many(limit, decision.retry_after, "attempts")
        return _policy_headers(limit, decision.remaining, decision.reset)
