"""The public signing keys of auth (its JWKS), fetched over HTTP and kept in memory.

Keys are parsed into `jwt.PyJWK` objects once per fetch, never per request. A token signed with
an unknown `kid` triggers at most one refetch per cooldown window, however many such tokens
arrive (random kids must not turn into a flood of requests to auth). When the cached set grows
stale it is refreshed in the background while requests keep using it, and when auth cannot be
reached the last good set stays in use.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import jwt

logger = logging.getLogger("mcm.security.jwks")

ALGORITHM = "ES256"
_MAX_JWKS_BYTES = 64 * 1024


def _usable_key(entry: Any) -> tuple[str, jwt.PyJWK] | None:
    """An ES256 public signing key from one JWKS entry, or None when it is not one."""
    if not isinstance(entry, Mapping):
        return None
    kid = entry.get("kid")
    if not isinstance(kid, str) or not kid:
        return None
    if (
        entry.get("kty") != "EC"
        or entry.get("crv") != "P-256"
        or entry.get("alg", ALGORITHM) != ALGORITHM
        or entry.get("use", "sig") != "sig"
        or "d" in entry  # private material has no business in a published key set
    ):
        return None
    try:
        # The algorithm is pinned here, not taken from the entry or from any token header.
        return kid, jwt.PyJWK(dict(entry), algorithm=ALGORITHM)
    except (jwt.PyJWTError, ValueError, TypeError):
        return None


def parse_jwks(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """kid → key for every usable ES256 key; ValueError when the set has none."""
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(entries, list):
        raise ValueError("the JWKS has no 'keys' list")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries:
        usable = _usable_key(entry)
        if usable is None:
            logger.debug("jwks entry skipped: not an ES256 public signing key")
            continue
        keys[usable[0]] = usable[1]
    if not keys:
        raise ValueError("the JWKS has no usable ES256 signing key")
    return keys


FAILED_FETCH_RETRY_SECONDS = 1.0


class JWKSCache:
    """Auth's public keys by `kid`, fetched from `jwks_url` with an `httpx.AsyncClient`.

    `clock` (monotonic seconds) exists so tests can move time without sleeping.
    """

    def __init__(
        self,
        jwks_url: str,
        *,
        cache_seconds: float = 300,
        refetch_cooldown: float = 10,
        timeout: float = 2.0,
        client: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.jwks_url = jwks_url
        self._cache_seconds = cache_seconds
        self._cooldown = refetch_cooldown
        self._timeout = timeout
        self._client = client
        self._owns_client = client is None
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fresh_until = -math.inf
        self._last_attempt = -math.inf
        self._last_fetch_failed = False
        self._lock = asyncio.Lock()
        self._refresh_task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def kids(self) -> frozenset[str]:
        return frozenset(self._keys)

    @property
    def last_fetch_failed(self) -> bool:
        """True while the most recent attempt to fetch the key set failed."""
        return self._last_fetch_failed

    def load(self, jwks: Mapping[str, Any]) -> None:
        """Replace the key set with `jwks` (a JWKS document) and count it as just fetched.

        Being "just fetched" also starts the refetch cooldown, so a cache that is only ever
        seeded (auth verifying its own tokens with a huge cooldown) never goes to the network.
        Raises ValueError when the document holds no usable ES256 key.
        """
        self._keys = parse_jwks(jwks)
        now = self._clock()
        self._fresh_until = now + self._cache_seconds
        self._last_attempt = max(self._last_attempt, now)
        self._last_fetch_failed = False

    def cached_key(self, kid: str) -> jwt.PyJWK | None:
        """The key for `kid` if it is already known; never waits for the network.

        A stale set is still answered from, and a background refresh is started.
        """
        if self._clock() >= self._fresh_until:
            self._refresh_soon()
        return self._keys.get(kid)

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        """The key for `kid`, refetching the set once per cooldown window when it is unknown."""
        key = self.cached_key(kid)
        if key is not None:
            return key
        async with self._lock:
            # Whoever held the lock before us may just have fetched this kid.
            key = self._keys.get(kid)
            if key is None and self._cooldown_over():
                await self._fetch()
                key = self._keys.get(kid)
        return key

    async def refresh(self) -> bool:
        """Fetch the key set now (e.g. to warm the cache at start-up); True on success."""
        async with self._lock:
            return await self._fetch()

    async def aclose(self) -> None:
        self._closed = True
        task, self._refresh_task = self._refresh_task, None
        if task is not None and not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def _cooldown_over(self) -> bool:
        # After a failed fetch (auth starting up or briefly down) retry sooner, still at most
        # once per FAILED_FETCH_RETRY_SECONDS, so tokens signed meanwhile are not refused for long.
        window = min(self._cooldown, FAILED_FETCH_RETRY_SECONDS) if self._last_fetch_failed else self._cooldown
        return self._clock() - self._last_attempt >= window

    def _refresh_soon(self) -> None:
        if self._closed or not self._cooldown_over():
            return
        if self._refresh_task is not None and not self._refresh_task.done():
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (plain sync caller): the next async lookup refreshes
            return
        self._refresh_task = loop.create_task(self._background_refresh())

    async def _background_refresh(self) -> None:
        async with self._lock:
            if self._cooldown_over():
                await self._fetch()

    async def _fetch(self) -> bool:
        """Fetch and install the key set; on any failure keep the keys we have."""
        if self._closed:
            return False
        self._last_attempt = self._clock()
        try:
            if self._client is None:
                # trust_env=False: the JWKS lives on an internal address; no proxy belongs in between.
                self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
            async with asyncio.timeout(self._timeout):
                response = await self._client.get(
                    self.jwks_url, headers={"Accept": "application/json"}, timeout=self._timeout
                )
            response.raise_for_status()
            if len(response.content) > _MAX_JWKS_BYTES:
                raise ValueError("the JWKS response is too large")
            self.load(response.json())
        except Exception as exc:
            self._last_fetch_failed = True
            logger.warning(
                "jwks fetch failed; keeping the last good keys",
                extra={"jwks_url": self.jwks_url, "error": f"{type(exc).__name__}: {exc}", "kids": len(self._keys)},
            )
            return False
        logger.info("jwks fetched", extra={"jwks_url": self.jwks_url, "kids": ",".join(sorted(self._keys))})
        return True
