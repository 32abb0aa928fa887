"""Client-credentials tokens: `sub="svc:<name>"`, audience `internal`, short-lived, no session.

Clients and their secrets come from SERVICE_CLIENTS; secrets are compared in constant time.
"""

from __future__ import annotations

import hmac
import re
from datetime import UTC, datetime

from mcm_auth.clients.errors import InvalidClient
from mcm_auth.config import Settings
from mcm_auth.keys.service import KeyRing
from mcm_auth.ratelimit import hit
from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions.tokens import access_token
from mcm_shared.security import INTERNAL_AUDIENCE

AUTH_ITSELF = "auth"
_CLIENT_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")


async def issue(runtime: AuthRuntime, *, client_id: str, client_secret: str, client_ip: str | None) -> tuple[str, int]:
    await hit(
        runtime.redis,
        f"auth:token:ip:{client_ip or 'unknown'}",
        limit=120,
        window_seconds=60,
        detail="Too many token requests.",
    )
    expected = runtime.settings.service_client_secrets().get(client_id)
    # Compare even when the client is unknown, so the answer time does not tell which exist.
    valid = hmac.compare_digest((expected or "\0").encode(), client_secret.encode()) and expected is not None
    # `svc:auth` is auth's own identity on other services' internal routes: no client gets it.
    if not valid or not _CLIENT_NAME.fullmatch(client_id) or client_id == AUTH_ITSELF:
        raise InvalidClient("Unknown client or wrong secret.")
    return mint(runtime.keyring, runtime.settings, client_id)


def mint(keyring: KeyRing, settings: Settings, client_id: str) -> tuple[str, int]:
    """A service token for `client_id` and its lifetime in seconds (also auth's own, `svc:auth`)."""
    ttl = settings.service_token_ttl_seconds
    token, _ = access_token(
        keyring,
        issuer=settings.jwt_issuer,
        audience=INTERNAL_AUDIENCE,
        subject=f"svc:{client_id}",
        roles=[],
        session_id=None,
        now=datetime.now(UTC),
        ttl_seconds=ttl,
    )
    return token, ttl
