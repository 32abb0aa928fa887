"""Which upstream serves a path, and which requests may pass without a bearer token.

Routing works on the decoded path (what the services route on), with whole-segment prefixes so
`/api/v1/circlesX` is not `/api/v1/circles`. Paths that could mean something else after an
upstream normalises them (dot segments, encoded slashes, `internal` anywhere) are refused here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

# Longest prefixes first is not needed: no prefix is a prefix of another upstream's.
ROUTE_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/v1/auth", "auth"),
    ("/api/v1/users", "auth"),
    ("/api/v1/invitations", "auth"),
    ("/api/v1/imports", "auth"),
    ("/.well-known/jwks.json", "auth"),
    ("/api/v1/circles", "circles"),
    ("/api/v1/events", "circles"),
    ("/api/v1/event-types", "circles"),
    ("/api/v1/transfer-requests", "circles"),
    ("/api/v1/members", "circles"),
    ("/api/v1/directory", "circles"),
    ("/api/v1/payments", "payments"),
    ("/api/v1/conversations", "messaging"),
    ("/api/v1/notifications", "messaging"),
    ("/api/v1/realtime", "messaging"),
    # Each report is served by the service that owns its data (docs/reports.md): exact names,
    # so an unknown report is the gateway's 404 and no service sees another's report paths.
    ("/api/v1/reports/retention", "circles"),
    ("/api/v1/reports/attendance", "circles"),
    ("/api/v1/reports/goals", "circles"),
    ("/api/v1/reports/events", "circles"),
    ("/api/v1/reports/dues", "payments"),
    ("/api/v1/reports/revenue", "payments"),
)

# (method, exact path) pairs a client may call without a token.
PUBLIC_ENDPOINTS: frozenset[tuple[str, str]] = frozenset(
    {
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/password-reset"),
        ("POST", "/api/v1/auth/password-reset/confirm"),
        ("POST", "/api/v1/auth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("HEAD", "/.well-known/jwks.json"),
        ("POST", "/api/v1/payments/webhooks/stripe"),
    }
)
# OIDC start and callback: the browser arrives there without a token, by design.
PUBLIC_PREFIXES: tuple[str, ...] = ("/api/v1/auth/oidc/",)

# Endpoints that check a secret (password, code, refresh token): stricter rate limits.
CREDENTIAL_ENDPOINTS: frozenset[str] = frozenset(
    {
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/password",
        "/api/v1/auth/token",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/verify-phone",
        "/api/v1/auth/phone",
    }
)

CREDENTIAL_PREFIXES: tuple[str, ...] = ("/api/v1/auth/verify-", "/api/v1/auth/oidc/")

# Paths that take a WebSocket handshake (uvicorn hands those over as `websocket` scopes), relayed
# to their upstream (websocket_relay.py, docs/gateway.md). Every other path refuses a handshake,
# and plain HTTP requests asking to upgrade are refused anywhere.
WEBSOCKET_PATHS: frozenset[str] = frozenset({"/api/v1/realtime"})


class Access(Enum):
    PUBLIC = "public"
    AUTHENTICATED = "authenticated"


@dataclass(frozen=True, slots=True)
class Route:
    upstream: str
    access: Access
    credential: bool
    websocket: bool = False  # may take a WebSocket handshake (never a plain HTTP Upgrade)


def _suspicious(path: str, raw_path: bytes) -> bool:
    segments = path.split("/")
    if "internal" in (segment.lower() for segment in segments):
        return True
    if "." in segments or ".." in segments:
        return True
    lowered = raw_path.lower()
    # An encoded slash or backslash would split into different segments at some hop.
    return b"%2f" in lowered or b"%5c" in lowered or "\\" in path


class RouteTable:
    """Resolves a request to a `Route`, or None (404). Results are memoised per path."""

    def __init__(
        self,
        prefixes: tuple[tuple[str, str], ...] = ROUTE_PREFIXES,
        memo_size: int = 4096,
        websocket_paths: frozenset[str] = WEBSOCKET_PATHS,
    ) -> None:
        self._prefixes = prefixes
        self._websocket_paths = websocket_paths
        self._memo: dict[tuple[str, str, bytes], Route | None] = {}
        self._memo_size = memo_size

    def resolve(self, method: str, path: str, raw_path: bytes) -> Route | None:
        key = (method, path, raw_path)
        try:
            return self._memo[key]
        except KeyError:
            pass
        route = self._resolve(method, path, raw_path)
        if len(self._memo) >= self._memo_size:
            self._memo.clear()  # paths carry ids, so the memo is a hot-path cache, not a registry
        self._memo[key] = route
        return route

    def _resolve(self, method: str, path: str, raw_path: bytes) -> Route | None:
        if _suspicious(path, raw_path):
            return None
        for prefix, upstream in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                public = (method, path) in PUBLIC_ENDPOINTS or path.startswith(PUBLIC_PREFIXES)
                credential = path in CREDENTIAL_ENDPOINTS or path.startswith(CREDENTIAL_PREFIXES)
                websocket = method == "GET" and path in self._websocket_paths
                return Route(upstream, Access.PUBLIC if public else Access.AUTHENTICATED, credential, websocket)
        return None
