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
from mcm_gateway.deadlines import Sweeper
from mcm_gateway.headers import ClientAddresses
from mcm_gateway.limits import RequestLimits
from mcm_gateway.metrics import ProxyMetrics
from mcm_gateway.ratelimit import RateLimiter
from mcm_gateway.upstream import CircuitBreaker, UpstreamPool
from mcm_gateway.upstream.probe import probe_ready
from mcm_shared.health import HealthState
from mcm_shared.redis import make_redis
from mcm_shared.revocation import RevocationListener
from mcm_shared.security import make_verifier

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
        self.openapi: Any = None  # MergedOpenAPI, set once the pools exist
        self.metrics_server: Any = None  # MetricsServer while METRICS_PORT is served (main.py)
        self.started = False
        self.sweeper = Sweeper(tick=0.1)
        self._limiter_redis: Any = None
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self) -> None:
        settings = self.settings
        self.sweeper.start()
        timeouts = settings.upstream_timeouts()
        for name, url in settings.upstream_urls().items():
            self.pools[name] = UpstreamPool(
                name,
                url,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                read_timeout=timeouts[name],
                max_connections=settings.upstream_max_connections,
                idle_seconds=settings.upstream_idle_seconds,
                breaker=CircuitBreaker(
                    settings.breaker_failure_threshold,
                    settings.breaker_open_seconds,
                    trial_seconds=settings.upstream_connect_timeout_seconds,
                ),
                sweeper=self.sweeper,
            )
        self.limits = RequestLimits(max_body_bytes=settings.max_body_bytes, max_header_bytes=settings.max_header_bytes)
        if settings.redis_url:
            self.redis = make_redis(settings.redis_url, socket_timeout=settings.dependency_timeout_seconds)
            self.health.add("redis", self.redis.ping, settings.dependency_timeout_seconds)
            # Announcements carry only the session id; keep each at least as long as a token lives.
            self.revocations = RevocationListener(
                self.redis, fallback_ttl_seconds=settings.access_token_ttl_seconds + 60
            )
            await self.revocations.start(wait_seconds=settings.dependency_timeout_seconds)
        if settings.rate_limits_enabled:
            limiter_redis = (
                make_redis(settings.redis_url, socket_timeout=settings.rate_limit_redis_timeout_seconds)
                if settings.redis_url
                else None
            )
            self.rate_limiter = RateLimiter(
                limiter_redis,
                user_per_minute=settings.rate_limit_user_per_minute,
                anonymous_per_minute=settings.rate_limit_anonymous_per_minute,
                credential_per_minute=settings.rate_limit_credential_per_minute,
                redis_timeout=settings.rate_limit_redis_timeout_seconds,
            )
            self._limiter_redis = limiter_redis
            await self.rate_limiter.start()
        is_revoked = self.revocations.is_revoked if self.revocations is not None else None
        verifier = make_verifier(settings, is_revoked=is_revoked)
        verifier.cache_size = 0  # the Authenticator's cache (by header value) remembers verified tokens
        self.authenticator = Authenticator(verifier, is_revoked=is_revoked, cache_size=settings.token_cache_size)
        # Warm the key cache without delaying start-up: auth may start after the gateway.
        self._tasks.append(asyncio.create_task(verifier.keys.refresh(), name="jwks-warm-up"))
        if settings.upstream_health_interval_seconds:
            self._tasks.append(
                asyncio.create_task(
                    self._watch_upstreams(settings.upstream_health_interval_seconds), name="upstream-health"
                )
            )
        self.started = True

    async def _watch_upstreams(self, interval: float) -> None:
        """Probe every upstream's readiness; connect failures feed each pool's circuit breaker."""
        timeout = self.settings.health_check_timeout_seconds
        while True:
            await asyncio.sleep(interval)
            results = await asyncio.gather(
                *(probe_ready(pool, timeout) for pool in self.pools.values() if pool.configured)
            )
            for result in results:
                if not result.ok and result.status is None:
                    logger.warning("upstream unreachable", extra={"upstream": result.name, "error": result.error})

    async def stop(self) -> None:
        self.started = False
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for pool in self.pools.values():
            await pool.close()
        if self.revocations is not None:
            await self.revocations.stop()
        if self.rate_limiter is not None:
            await self.rate_limiter.stop()
        if self._limiter_redis is not None:
            await self._limiter_redis.aclose()
        await self.sweeper.stop()
        if self.authenticator is not None:
            await self.authenticator.verifier.aclose()
        if self.redis is not None:
            await self.redis.aclose()
