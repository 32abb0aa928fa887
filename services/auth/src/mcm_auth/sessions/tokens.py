"""Access tokens: the claims of ARCHITECTURE.md §4, signed ES256 with the active key."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from mcm_auth.keys.service import KeyRing


def access_token(
    keyring: KeyRing,
    *,
    issuer: str,
    audience: str,
    subject: str,
    roles: list[str],
    session_id: uuid.UUID | None,
    now: datetime,
    ttl_seconds: int,
) -> tuple[str, datetime]:
    expires_at = now + timedelta(seconds=ttl_seconds)
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": subject,
        "iat": int(now.timestamp()),
        "exp": int(expires_at.timestamp()),
        "jti": uuid.uuid4().hex,
        "roles": list(roles),
        "typ": "access",
    }
    if session_id is not None:
        claims["sid"] = str(session_id)
    return keyring.sign(claims), expires_at
