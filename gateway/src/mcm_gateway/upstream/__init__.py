"""The gateway's own upstream HTTP/1.1 client: keep-alive pools, timeouts, circuit breaker."""

from mcm_gateway.upstream.breaker import CircuitBreaker
from mcm_gateway.upstream.connection import Exchange, UpstreamConnection
from mcm_gateway.upstream.errors import (
    ConnectFailed,
    UpstreamBroken,
    UpstreamError,
    UpstreamTimeout,
    UpstreamUnavailable,
)
from mcm_gateway.upstream.pool import UpstreamPool

__all__ = [
    "CircuitBreaker",
    "ConnectFailed",
    "Exchange",
    "UpstreamBroken",
    "UpstreamConnection",
    "UpstreamError",
    "UpstreamPool",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]
