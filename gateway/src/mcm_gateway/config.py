"""Gateway settings: where the upstreams live, how long to wait for them, what to trust.

Every name maps to an environment variable of the same name in upper case (ARCHITECTURE §12):
`AUTH_URL`, `CIRCLES_URL`, `PAYMENTS_URL`, `GATEWAY_PORT`, `TRUSTED_PROXIES`, ...
"""
from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from mcm_shared.settings import BaseServiceSettings

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Settings(BaseServiceSettings):
    service_name: str = "gateway"
    gateway_port: int = Field(default=8000, ge=1, le=65535)

    # An empty URL means "not configured": its routes answer 503 instead of guessing.
    auth_url: str = "http://127.0.0.1:8001"
    circles_url: str = "http://127.0.0.1:8002"
    payments_url: str = "http://127.0.0.1:8003"

    upstream_connect_timeout_seconds: float = Field(default=1.0, gt=0)
    # Time allowed for an upstream to start answering (and between body chunks) before 504.
    # Login runs bcrypt and payments talks to Stripe, so the default leaves room for both.
    auth_timeout_seconds: float = Field(default=15.0, gt=0)
    circles_timeout_seconds: float = Field(default=15.0, gt=0)
    payments_timeout_seconds: float = Field(default=30.0, gt=0)
    upstream_max_connections: int = Field(default=256, ge=1, le=10_000)
    # Below uvicorn's 5 s keep-alive, so we rarely send on a connection the upstream is closing.
    upstream_idle_seconds: float = Field(default=4.0, gt=0)
    health_check_timeout_seconds: float = Field(default=1.0, gt=0)

    # Consecutive connect failures that open the circuit, and how long it then stays open.
    breaker_failure_threshold: int = Field(default=3, ge=1)
    breaker_open_seconds: float = Field(default=2.0, gt=0)

    # Peers whose X-Forwarded-For we believe (the ingress / load balancer), as IPs or CIDRs.
    trusted_proxies: Annotated[list[IPNetwork], NoDecode] = Field(default_factory=list)

    token_cache_size: int = Field(default=10_000, ge=0)

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
        return {"auth": self.auth_url, "circles": self.circles_url, "payments": self.payments_url}

    def upstream_timeouts(self) -> dict[str, float]:
        return {
            "auth": self.auth_timeout_seconds,
            "circles": self.circles_timeout_seconds,
            "payments": self.payments_timeout_seconds,
        }

    def required_urls(self) -> dict[str, str | None]:
        return {**super().required_urls(), "AUTH_URL": self.auth_url, "CIRCLES_URL": self.circles_url, "PAYMENTS_URL": self.payments_url}
