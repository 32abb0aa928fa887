"""Calls from auth to another service's `/internal/v1/...` routes, over service tokens.

Auth signs its own client-credentials token (`sub="svc:auth"`, `aud="internal"`, short-lived)
instead of asking itself for one over HTTP; it is reused until shortly before it expires. A
service that is not configured, cannot be reached, times out or answers with an error is
reported as `ServiceUnavailable` (503, naming the service), so callers can either fail the
request or mark that part of their answer as unavailable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from mcm_shared.errors import DependencyUnavailable

logger = logging.getLogger("mcm.auth.internal")

# (token, lifetime in seconds); see mcm_auth.clients.service.mint.
TokenSource = Callable[[], tuple[str, int]]


class ServiceUnavailable(DependencyUnavailable):
    type_slug, title = "service-unavailable", "A service did not answer"

    def __init__(self, service: str) -> None:
        super().__init__(
            f"The {service} service did not answer; try again shortly.",
            extra={"service": service},
        )
        self.service = service


class InternalClient:
    """GET/POST JSON to `<service base URL>/internal/v1/...` with auth's service token."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        base_urls: Mapping[str, str | None],
        token_source: TokenSource,
        timeout_seconds: float,
    ) -> None:
        self._http = http
        self._base_urls = {name: (url or "").rstrip("/") for name, url in base_urls.items()}
        self._token_source = token_source
        self._timeout = timeout_seconds
        self._token: str | None = None
        self._token_renew_at = 0.0

    @property
    def services(self) -> tuple[str, ...]:
        return tuple(self._base_urls)

    def _bearer(self) -> str:
        now = time.monotonic()
        if self._token is None or now >= self._token_renew_at:
            token, ttl = self._token_source()
            # Renew at half-life: a token never reaches a service close to its expiry.
            self._token, self._token_renew_at = token, now + ttl / 2
        return self._token

    async def get(self, service: str, path: str) -> Any:
        return await self.request(service, "GET", path)

    async def post(self, service: str, path: str, body: Any = None) -> Any:
        return await self.request(service, "POST", path, body)

    async def request(self, service: str, method: str, path: str, body: Any = None) -> Any:
        """The decoded JSON answer (None for 204); `ServiceUnavailable` for any failure."""
        if not path.startswith("/internal/"):
            raise ValueError(f"internal calls go to /internal/ routes, not {path!r}")
        base = self._base_urls.get(service)
        if base is None:
            raise ValueError(f"unknown service {service!r}")
        if not base:
            logger.warning("internal call to an unconfigured service", extra={"service": service})
            raise ServiceUnavailable(service)
        try:
            response = await self._http.request(
                method,
                base + path,
                json=body,
                headers={"Authorization": f"Bearer {self._bearer()}", "Accept": "application/json"},
                timeout=self._timeout,
            )
        except httpx.HTTPError as exc:
            logger.warning(
                "internal call failed", extra={"service": service, "path": path, "error": type(exc).__name__}
            )
            raise ServiceUnavailable(service) from exc
        if response.status_code >= 300:
            logger.warning(
                "internal call answered with an error",
                extra={"service": service, "path": path, "status": response.status_code},
            )
            raise ServiceUnavailable(service)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ServiceUnavailable(service) from exc
