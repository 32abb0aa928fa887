"""Everything the gateway holds while it runs: upstream pools, the token checks, Redis, limits.

Built empty with the app and filled in by the lifespan (`start`), because connection pools and
Redis clients belong to the running event loop.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from mcm_gateway.auth import Authenticator
from mcm_gateway.config import Settings
from mcm_gateway.headers import ClientAddresses
from mcm_gateway.metrics import ProxyMetrics
from mcm_gateway.upstream import CircuitBreaker, UpstreamPool
from mcm_shared.health import HealthState
from mcm_shared.redis import make_redis
from mcm_shared.tokens import make_verifier

logger = logging.getLogger("mcm.gateway")


class GatewayRuntime:
    def __init__(self, settings: Settings, metrics: ProxyMetrics, health: HealthState) -> None:
        self.settings = settings
        self.metrics = metrics
        self.health = health
        self.addresses = ClientAddresses(settings.trusted_proxies)
        self.pools: dict[str, UpstreamPool] = {}
        self.authenticator: Authenticator = None  # type: ignore[assignment]  # set by start()
        self.redis: Any = None
        self.revocations: Any = None
        self.limits: Any = None
        self.rate_limiter: Any = None
        self.started = False
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        settings = self.settings
        timeouts = settings.upstream_timeouts()
        for name, url in settings.upstream_urls().items():
            self.pools[name] = UpstreamPool(
                name,
                url,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=timeouts[name],
                max_connections=settings.upstream_max_connections,
                idle_seconds=settings.upstream_idle_seconds,
                breaker=CircuitBreaker(settings.breaker_failure_threshold, settings.breaker_open_seconds),
            )
        if settings.redis_url:
            self.redis = make_redis(settings.redis_url, socket_timeout=settings.dependency_timeout_seconds)
            self.health.add("redis", self.redis.ping, settings.dependency_timeout_seconds)
        is_revoked = self.revocations.is_revoked if self.revocations is not None else None
        verifier = make_verifier(settings, is_revoked=is_revoked)
        self.authenticator = Authenticator(verifier, is_revoked=is_revoked, cache_size=settings.token_cache_size)
        # Warm the key cache without delaying start-up: auth may start after the gateway.
        self._tasks.append(asyncio.create_task(verifier.keys.refresh(), name="jwks-warm-up"))
        self.started = True

    async def stop(self) -> None:
        self.started = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for pool in self.pools.values():
            await pool.close()
        if self.authenticator is not None:
            await self.authenticator.verifier.aclose()
        if self.redis is not None:
            await self.redis.aclose()
