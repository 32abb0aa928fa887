"""Service-to-service calls (ARCHITECTURE.md §4): who may call a service's `/internal/v1/...` routes.

A caller authenticates with a client-credentials token auth signed: `aud="internal"`,
`sub="svc:<caller>"`, short-lived, no session. Internal routes are verified with a verifier of
their own that accepts the `internal` audience only, while user routes keep a verifier that
accepts the user audience only, so neither kind of token can stand in for the other even though
both are signed with the same keys. Routes take `Depends(require_service("auth"))`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mcm_shared.errors import Forbidden, Unauthenticated
from mcm_shared.logging import user_id_var
from mcm_shared.security.dependencies import bearer_token
from mcm_shared.security.principal import SERVICE_SUBJECT_PREFIX, Principal
from mcm_shared.security.verifier import TokenVerifier

INTERNAL_AUDIENCE = "internal"

_internal_bearer = HTTPBearer(
    scheme_name="ServiceToken",
    bearerFormat="JWT",
    description="Client-credentials token (aud=internal) from POST /api/v1/auth/token",
    auto_error=False,
)


def internal_verifier(user_verifier: TokenVerifier) -> TokenVerifier:
    """The verifier of internal routes: the same keys (one JWKS cache) and issuer as the user
    verifier, but only the `internal` audience. Service tokens carry no session, so the
    revocation check of user tokens does not apply to them."""
    return TokenVerifier(
        user_verifier.keys,
        issuer=user_verifier.issuer,
        audience=INTERNAL_AUDIENCE,
        leeway=user_verifier.leeway,
    )


def require_service(*callers: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency for internal routes: the caller must present a service token of one of
    `callers` (`sub="svc:<caller>"`, audience `internal`).

    No token or an invalid one: 401. A valid user token, or another service's token: 403.
    The verifier is `app.state.internal_verifier` (see `mcm_shared.wiring.verifier_hook`).
    """
    if not callers:
        raise ValueError("require_service() needs at least one caller")
    allowed = frozenset(SERVICE_SUBJECT_PREFIX + caller for caller in callers)

    async def service_caller(
        request: Request,
        _openapi: Annotated[HTTPAuthorizationCredentials | None, Depends(_internal_bearer)] = None,
    ) -> Principal:
        token = bearer_token(request)
        verifier: TokenVerifier | None = getattr(request.app.state, "internal_verifier", None)
        if verifier is None:
            raise RuntimeError("app.state.internal_verifier is not set; add mcm_shared.wiring.verifier_hook()")
        try:
            principal = await verifier.verify(token)
        except Unauthenticated:
            if await _is_user_token(request, token):
                raise Forbidden("This route is for the platform's services only.") from None
            raise
        if principal.subject not in allowed:
            raise Forbidden("This service may not call this route.")
        user_id_var.set(principal.subject)
        request.state.principal = principal
        return principal

    service_caller.__name__ = f"require_service_{'_'.join(sorted(callers))}"
    return service_caller


async def _is_user_token(request: Request, token: str) -> bool:
    """Whether a token the internal verifier refused is a valid user token (answered 403, not 401)."""
    user_verifier: TokenVerifier | None = getattr(request.app.state, "verifier", None)
    if user_verifier is None:
        return False
    try:
        await user_verifier.verify(token)
    except Unauthenticated:
        return False
    return True
