"""CORS for browsers on the origins in CORS_ORIGINS, answered by the gateway for every route.

Preflights never reach a service. On actual responses the gateway's CORS headers replace any
the service sent, so a browser never sees two `Access-Control-Allow-Origin` values.
"""

from __future__ import annotations

from collections.abc import Sequence

from mcm_gateway.proxy import ClientIO

ALLOW_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ALLOW_HEADERS = ("authorization", "content-type", "idempotency-key", "x-request-id", "stripe-signature")
EXPOSE_HEADERS = (
    "X-Request-ID",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)


class CorsPolicy:
    def __init__(self, origins: Sequence[str], *, max_age: int = 600) -> None:
        self.any_origin = "*" in origins
        self.origins = frozenset(origin.rstrip("/").encode() for origin in origins if origin != "*")
        self._allowed_headers = frozenset(ALLOW_HEADERS)
        self._preflight_headers = [
            (b"access-control-allow-methods", ", ".join(ALLOW_METHODS).encode()),
            (b"access-control-allow-headers", ", ".join(ALLOW_HEADERS).encode()),
            (b"access-control-max-age", str(max_age).encode()),
        ]
        self._expose = (b"access-control-expose-headers", ", ".join(EXPOSE_HEADERS).encode())

    def allows(self, origin: bytes) -> bool:
        return self.any_origin or origin in self.origins

    def is_preflight(self, method: str, headers: list[tuple[bytes, bytes]]) -> bool:
        return method == "OPTIONS" and any(name == b"access-control-request-method" for name, _ in headers)

    def preflight(
        self, origin: bytes, headers: list[tuple[bytes, bytes]]
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        """The answer to a preflight from `origin`: 204 with the policy, or 403 without it."""
        requested_method = b""
        requested_headers: list[str] = []
        for name, value in headers:
            if name == b"access-control-request-method":
                requested_method = value.strip()
            elif name == b"access-control-request-headers":
                requested_headers += [h.strip().lower() for h in value.decode("latin-1").split(",") if h.strip()]
        ok = (
            self.allows(origin)
            and requested_method.decode("latin-1") in ALLOW_METHODS
            and all(header in self._allowed_headers for header in requested_headers)
        )
        vary = (b"vary", b"Origin")
        if not ok:
            return 403, [vary, (b"content-type", b"text/plain")], b"Disallowed CORS request"
        return 204, [(b"access-control-allow-origin", self._allow_value(origin)), vary, *self._preflight_headers], b""

    def response_headers(self, origin: bytes) -> list[tuple[bytes, bytes]]:
        if not self.allows(origin):
            return []
        return [(b"access-control-allow-origin", self._allow_value(origin)), (b"vary", b"Origin"), self._expose]

    def _allow_value(self, origin: bytes) -> bytes:
        # No cookies cross origins here (bearer tokens only), so "*" is safe when configured.
        return b"*" if self.any_origin else origin


def without_cors_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if not name.startswith(b"access-control-")]


class CorsClient:
    """Wraps a `ClientIO` so the response carries the gateway's CORS headers."""

    __slots__ = ("extra", "inner")

    def __init__(self, inner: ClientIO, extra: list[tuple[bytes, bytes]]) -> None:
        self.inner = inner
        self.extra = extra

    @property
    def body_done(self) -> bool:
        return self.inner.body_done

    @body_done.setter
    def body_done(self, value: bool) -> None:
        self.inner.body_done = value

    @property
    def http10(self) -> bool:
        return self.inner.http10

    async def read_body(self) -> tuple[bytes, bool]:
        return await self.inner.read_body()

    async def start_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes, more: bool) -> None:
        await self.inner.start_response(status, [*without_cors_headers(headers), *self.extra], body, more)

    async def send_body(self, body: bytes, more: bool) -> None:
        await self.inner.send_body(body, more)

    async def wait_disconnect(self) -> None:
        await self.inner.wait_disconnect()

    def abort(self) -> None:
        self.inner.abort()
