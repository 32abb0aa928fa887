"""Errors of the token endpoint; each also carries the RFC 6749 `error` code clients expect."""

from __future__ import annotations

from typing import Any

from mcm_shared.errors import InvalidInput, Unauthenticated


class InvalidClient(Unauthenticated):
    type_slug, title = "invalid-client", "Client authentication failed"

    def __init__(self, detail: str | None = None, **kwargs: Any) -> None:
        super().__init__(
            detail, headers={"WWW-Authenticate": 'Basic realm="mcm-auth"'}, extra={"error": "invalid_client"}
        )


class InvalidTokenRequest(InvalidInput):
    status, type_slug, title = 400, "invalid-token-request", "The token request is not valid"

    def __init__(self, detail: str, error: str = "invalid_request") -> None:
        super().__init__(detail, extra={"error": error})
