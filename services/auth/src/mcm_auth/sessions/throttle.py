"""Password-guessing limits in Redis, built so that knowing someone's email is not enough to lock
them out.

Three counters, all keyed by a hash of the email whether or not an account exists (so the limits
never tell which addresses are registered):

- attempts per client address, any account (`LOGIN_MAX_ATTEMPTS_PER_IP`): a sprayer is slowed;
- failures per (account, client address) (`LOGIN_MAX_FAILURES_PER_CLIENT` per
  `LOGIN_LOCKOUT_SECONDS`): past it that address is refused for that account (429 +
  Retry-After), even with the right password, while the owner elsewhere signs in as usual;
- failures per account from every address (`LOGIN_MAX_FAILURES_PER_ACCOUNT` per
  `LOGIN_ACCOUNT_WINDOW_SECONDS`): past it nobody is refused, but the right password alone no
  longer signs in; the owner also proves the mailbox with an emailed one-time code (step-up,
  see `signin_codes.py`).

IPv6 clients are counted per /64, the block one subscriber usually holds, so rotating addresses
inside it does not buy fresh guesses. A successful sign-in clears its address's counter; a
password reset clears all of the account's (the owner proved the mailbox).
"""

from __future__ import annotations

import hashlib
import ipaddress

from redis.asyncio import Redis

from mcm_auth.config import Settings
from mcm_auth.ratelimit import hit
from mcm_shared.errors import RateLimited

LOCKED_DETAIL = "Too many failed attempts for this account from your address; try again later."


def _account_key(email: str) -> str:
    return hashlib.sha256(email.encode()).hexdigest()[:32]


def client_bucket(ip: str | None) -> str:
    """The unit a client is counted in: its IPv4 address, or its IPv6 /64."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return hashlib.sha256(ip.encode()).hexdigest()[:16]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


class LoginThrottle:
    def __init__(self, redis: Redis, settings: Settings) -> None:
        self.redis = redis
        self.settings = settings

    def _keys(self, email: str, ip: str | None) -> tuple[str, str, str]:
        account = _account_key(email)
        return (
            f"auth:login:fail:{account}",  # every address
            f"auth:login:fail:{account}:{client_bucket(ip)}",  # this address
            f"auth:login:clients:{account}",  # which per-address counters exist, for a reset
        )

    async def count_ip(self, ip: str | None) -> None:
        await hit(
            self.redis,
            f"auth:login:ip:{client_bucket(ip)}",
            limit=self.settings.login_max_attempts_per_ip,
            window_seconds=self.settings.login_ip_window_seconds,
            detail="Too many sign-in attempts from this address.",
        )

    async def ensure_client_allowed(self, email: str, ip: str | None) -> None:
        """429 once this address has failed too often for this account."""
        _, client_key, _ = self._keys(email, ip)
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.get(client_key)
            pipe.ttl(client_key)
            count, ttl = await pipe.execute()
        if count is not None and int(count) >= self.settings.login_max_failures_per_client:
            raise RateLimited(ttl if ttl and ttl > 0 else self.settings.login_lockout_seconds, LOCKED_DETAIL)

    async def needs_step_up(self, email: str) -> bool:
        """Whether the account has seen so many failures, from anywhere, that a password alone
        no longer signs in."""
        account_key, _, _ = self._keys(email, None)
        count = await self.redis.get(account_key)
        return count is not None and int(count) >= self.settings.login_max_failures_per_account

    async def record_failure(self, email: str, ip: str | None) -> None:
        account_key, client_key, clients_key = self._keys(email, ip)
        per_client = self.settings.login_lockout_seconds
        per_account = self.settings.login_account_window_seconds
        async with self.redis.pipeline(transaction=True) as pipe:
            # SET NX starts each fixed window once; INCR counts within it.
            pipe.set(client_key, 0, ex=per_client, nx=True)
            pipe.incr(client_key)
            pipe.set(account_key, 0, ex=per_account, nx=True)
            pipe.incr(account_key)
            pipe.sadd(clients_key, client_key)
            pipe.expire(clients_key, max(per_client, per_account))
            await pipe.execute()

    async def succeeded(self, email: str, ip: str | None) -> None:
        """A correct sign-in clears its own address's count; the account-wide count stays, so
        an attacker's guesses elsewhere still require the code until their window ends."""
        _, client_key, clients_key = self._keys(email, ip)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(client_key)
            pipe.srem(clients_key, client_key)
            await pipe.execute()

    async def clear_account(self, email: str) -> None:
        """The owner proved the mailbox (password reset): every counter of the account goes."""
        account_key, _, clients_key = self._keys(email, None)
        members = await self.redis.smembers(clients_key)
        await self.redis.delete(account_key, clients_key, *members)
