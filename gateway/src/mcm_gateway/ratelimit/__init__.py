"""Rate limits at the gateway, counted in Redis (see limiter.py for the policy)."""

from mcm_gateway.ratelimit.limiter import RateLimiter

__all__ = ["RateLimiter"]
