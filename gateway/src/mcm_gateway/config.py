"""Gateway settings: where the upstreams live, how long to wait for them, what to trust.

Every name maps to an environment variable of the same name in upper case (ARCHITECTURE §12):
`AUTH_URL`, `CIRCLES_URL`, `PAYMENTS_URL`, `MESSAGING_URL`, `GATEWAY_PORT`, `TRUSTED_PROXIES`, ...
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import NoDecode

from mcm_shared.settings import BaseServiceSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseServiceSettings):
    service_name: str = "gateway"
    gateway_port: int = Field(default=8000, ge=1, le=65535)
    # The address both ports listen on (also `serve --host`'s default); the images set 0.0.0.0.
    host: str = "127.0.0.1"
    # Prometheus metrics on their own port, never the public one (0 or empty: not served).
    metrics_port: int = Field(default=9000, ge=0, le=65535)

    # The built web app (`npm run build` in web/ writes web/dist), served at `/`; empty: no app.
    web_dist_dir: str = ""

    # An empty URL means "not configured": its routes answer 503 instead of guessing.
    auth_url: str = "http://127.0.0.1:8001"
    circles_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"
    messaging_url: str = "http://127.0.0.1:8004"

    upstream_connect_timeout_seconds: float = Field(default=1.0, gt=0)
    # Time allowed for an upstream to start answering (and between body chunks) before 504.
    # Login runs bcrypt and payments talks to Stripe, so the default leaves room for both.
    auth_timeout_seconds: float = Field(default=15.0, gt=0)
    circles_timeout_seconds: float = Field(default=15.0, gt=0)
    payments_timeout_seconds: float = Field(default=30.0, gt=0)
    messaging_timeout_seconds: float = Field(default=15.0, gt=0)
    upstream_max_connections: int = Field(default=256, ge=1, le=10_000)
    # Below uvicorn's 5 s keep-alive, so we rarely send on a connection the upstream is closing.
    upstream_idle_seconds: float = Field(default=4.0, gt=0)
    health_check_timeout_seconds: float = Field(default=1.0, gt=0)
    # How often each upstream's readiness is probed in the background (0: never). A failed
    # connect opens its circuit, so clients get a fast 503 before they have to find out.
    upstream_health_interval_seconds: float = Field(default=5.0, ge=0)

    # Consecutive connect failures that open the circuit, and how long it then stays open.
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_open_seconds: float = Field(default=2.0, gt=0)

    # Peers whose X-Forwarded-For we believe (the ingress / load balancer), as IPs or CIDRs.
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = Field(default_factory=list)

    token_cache_size: int = Field(default=10_000, ge=0)

    # Strict-Transport-Security max-age, sent only on answers served over HTTPS (0: never).
    # One year, no includeSubDomains/preload: the platform does not speak for sibling hosts.
    hsts_max_age_seconds: int = Field(default=31_536_000, ge=0)

    rate_limits_enabled: bool = True
    rate_limit_user_per_minute: int = Field(default=600, ge=1)
    rate_limit_anonymous_per_minute: int = Field(default=120, ge=1)
    # Per endpoint, per user when signed in, else per client IP: login, register, codes, ...
    rate_limit_credential_per_minute: int = Field(default=10, ge=1)
    # Short on purpose: a credential endpoint answers 503 rather than wait on a sick Redis.
    rate_limit_redis_timeout_seconds: float = Field(default=0.25, gt=0)

    # A JSON API needs little: 1 MiB, like nginx's default client_max_body_size.
    max_body_bytes: int = Field(default=1024 * 1024, ge=0)
    max_header_bytes: int = Field(default=16 * 1024, ge=1024)
    max_url_bytes: int = Field(default=8 * 1024, ge=256)
    # Longer than a fronting load balancer's idle timeout (ingress-nginx keeps upstream
    # connections 60 s), so the proxy in front never reuses a connection we just closed.
    keep_alive_seconds: float = Field(default=75.0, gt=0)
    # Time a client has from the first byte of a request (or from connecting) to the end of its
    # headers; uvicorn itself has no such limit, so the gateway's protocol enforces it.
    header_timeout_seconds: float = Field(default=10.0, gt=0)
    # Request bodies are read whole before an upstream connection is taken: a client may pause
    # at most `body_idle_timeout_seconds` between pieces and take `body_timeout_seconds` in all
    # (408 and the connection closed otherwise), so a slow body costs the gateway a buffer, never
    # an upstream connection.
    body_idle_timeout_seconds: float = Field(default=10.0, gt=0)
    body_timeout_seconds: float = Field(default=30.0, gt=0)
    # Proxied requests one client address (as TRUSTED_PROXIES resolves it) may have in flight at
    # once; beyond it 429 + Retry-After.
    max_in_flight_per_client: int = Field(default=64, ge=1)

    @field_validator("metrics_port", mode="before")
    @classmethod
    def _empty_port_is_off(cls, value: Any) -> Any:
        return 0 if isinstance(value, str) and not value.strip() else value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _parse_networks(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            return [ipaddress.ip_network(part, strict=False) if isinstance(part, str) else part for part in value]
        return value

    @property
    def jwks_url(self) -> str:
        return self.auth_url.rstrip("/") + "/.well-known/jwks.json"

    def upstream_urls(self) -> dict[str, str]:
        return {
            "auth": self.auth_url,
            "circles": self.circles_url,
            "payments": self.payments_url,
            "messaging": self.messaging_url,
        }

    def upstream_timeouts(self) -> dict[str, float]:
        return {
            "auth": self.auth_timeout_seconds,
            "circles": self.circles_timeout_seconds,
            "payments": self.payments_timeout_seconds,
            "messaging": self.messaging_timeout_seconds,
        }

    # After SIGTERM: keep serving (readiness already 503) this long before closing the listener,
    # so the load balancer stops sending first. 0 when a preStop hook does the waiting instead.
    shutdown_delay_seconds: float = Field(default=0.0, ge=0, le=60)
    shutdown_grace_seconds: float = Field(default=20.0, ge=0)

    def secrets(self) -> dict[str, SecretStr | None]:
        return {}  # the gateway asks auth for nothing, so it holds no client secret

    def required_urls(self) -> dict[str, str | None]:
        return {
            **super().required_urls(),
            "AUTH_URL": self.auth_url,
            "CIRCLES_URL": self.circles_url,
            "PAYMENTS_URL": self.payments_url,
            "MESSAGING_URL": self.messaging_url,
        }
