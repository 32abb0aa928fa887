"""The key ring: signs access tokens with the active key and tells which public keys are
published. Published keys are read from the database so every replica serves the same JWKS,
and a key stays published after a newer one took over until its last tokens have expired.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_auth.keys.material import SigningKey
from mcm_auth.keys.repository import KeyRepository
from mcm_shared.db import Database
from mcm_shared.security.jwks import JWKSCache

logger = logging.getLogger("mcm.auth.keys")

# How often a replica re-reads the published set (another replica may have rotated).
REFRESH_SECONDS = 30.0
# Random kids in forged tokens must not turn into a database query each.
UNKNOWN_KID_COOLDOWN = 5.0


async def prepublish(session: AsyncSession, kid: str, jwk: dict[str, Any], now: datetime) -> None:
    """Publish a public key before anything signs with it (idempotent; the caller commits)."""
    await KeyRepository(session).add_if_missing(kid, jwk, now)


class KeyRing:
    def __init__(self, signing: SigningKey, *, access_ttl_seconds: int, grace_seconds: int) -> None:
        self.signing = signing
        self._retention = timedelta(seconds=access_ttl_seconds + grace_seconds)
        self._jwks: dict[str, Any] = {"keys": [signing.public_jwk]}
        self._loaded_at = -1e18
        self._registered = False
        self._last_unknown_reload = -1e18
        # Auth verifies its own tokens from this same set instead of fetching its own URL; the
        # long cache and cooldown keep the cache from ever trying HTTP.
        self.verifier_keys = JWKSCache("http://127.0.0.1/unused", cache_seconds=1e9, refetch_cooldown=1e9)
        self.verifier_keys.load(self._jwks)

    @property
    def kid(self) -> str:
        return self.signing.kid

    def sign(self, claims: dict[str, Any]) -> str:
        return jwt.encode(claims, self.signing.private_key, algorithm="ES256", headers={"kid": self.kid, "typ": "JWT"})

    @property
    def jwks(self) -> dict[str, Any]:
        return self._jwks

    async def register(self, database: Database) -> None:
        """Publish the active key and retire the keys created before it."""
        now = datetime.now(UTC)
        async with database.session() as session:
            repo = KeyRepository(session)
            await repo.add_if_missing(self.kid, self.signing.public_jwk, now)
            await session.flush()
            mine = await repo.get(self.kid)
            if mine is None:  # cannot happen: added or already there, in this transaction
                raise RuntimeError(f"signing key {self.kid} is not published after adding it")
            await repo.retire_older_than(self.kid, mine.created_at, now)
            await session.commit()
        self._registered = True
        await self.reload(database)

    async def reload(self, database: Database) -> None:
        cutoff = datetime.now(UTC) - self._retention
        async with database.session() as session:
            rows = await KeyRepository(session).published_since(cutoff)
        keys = [row.public_jwk for row in rows]
        if self.kid not in {key["kid"] for key in keys}:
            keys.insert(0, self.signing.public_jwk)  # never stop publishing what we sign with
        self._jwks = {"keys": keys}
        self.verifier_keys.load(self._jwks)
        self._loaded_at = time.monotonic()

    async def learn_kid(self, database: Database, kid: str) -> bool:
        """A token names a kid we do not know: another replica may have just rotated. Re-read
        the published set, at most once per UNKNOWN_KID_COOLDOWN, and say if the kid is known now."""
        if kid in self.verifier_keys.kids:
            return True
        now = time.monotonic()
        if now - self._last_unknown_reload < UNKNOWN_KID_COOLDOWN:
            return False
        self._last_unknown_reload = now
        try:
            await self.reload(database)
        except Exception:
            logger.warning("could not re-read published keys for an unknown kid", exc_info=True)
        return kid in self.verifier_keys.kids

    async def reload_if_stale(self, database: Database) -> None:
        if time.monotonic() - self._loaded_at < REFRESH_SECONDS:
            return
        try:
            # A replica that started while the database was down publishes its key now.
            await (self.reload(database) if self._registered else self.register(database))
        except Exception:
            self._loaded_at = time.monotonic()  # retry after the next interval, not every call
            logger.warning("could not re-read published keys; serving the last known set", exc_info=True)
