"""FastAPI side of the verifier: the bearer-token dependencies and building it from settings.

Routes take `principal: CurrentPrincipal`, or `Depends(require_roles("admin"))` when a role is
needed. The verifier lives at `app.state.verifier` (see `mcm_shared.wiring.verifier_hook`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

import httpx
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mcm_shared.errors import Forbidden, ProblemError, Unauthenticated
from mcm_shared.logging import user_id_var
from mcm_shared.security.jwks import JWKSCache
from mcm_shared.security.permissions import roles_with
from mcm_shared.security.principal import Principal
from mcm_shared.security.verifier import TokenVerifier
from mcm_shared.settings import BaseServiceSettings

# Only here so the OpenAPI document (and Swagger's Authorize button) knows routes need a bearer
# token; the header itself is read below so the 401 is always our problem+json.
_bearer_scheme = HTTPBearer(
    scheme_name="BearerToken",
    bearerFormat="JWT",
    description="Access token from POST /api/v1/auth/login",
    auto_error=False,
)


class AmbiguousAuthorization(ProblemError):
    status, type_slug, title = 400, "ambiguous-authorization", "More than one Authorization header"


def bearer_token(request: Request) -> str:
    """The token of an `Authorization: Bearer <token>` header, else `Unauthenticated`.

    A request with two Authorization headers is refused outright (400): a proxy in front may
    have checked one and we would read the other.
    """
    values = request.headers.getlist("authorization")
    if len(values) > 1:
        raise AmbiguousAuthorization("Send exactly one Authorization header.")
    authorization = values[0] if values else None
    if authorization:
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if token and scheme.lower() == "bearer":
            return token
    raise Unauthenticated("A bearer access token is required.")


async def current_principal(
    request: Request,
    _openapi: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer_scheme)] = None,
) -> Principal:
    """The verified caller of this request; 401 problem+json otherwise."""
    token = bearer_token(request)
    verifier: TokenVerifier | None = getattr(request.app.state, "verifier", None)
    if verifier is None:
        raise RuntimeError("app.state.verifier is not set; add mcm_shared.wiring.verifier_hook() to the app")
    principal = await verifier.verify(token)
    if principal.is_service:
        # Service tokens are for `/internal/` routes (mcm_shared.security.internal), even where a
        # verifier was configured with more than the user audience.
        raise Forbidden("This endpoint needs a user's access token.")
    user_id_var.set(str(principal.user_id) if principal.user_id is not None else principal.subject)
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency that lets the request through when the caller holds any of `roles` (else 403).

    Use as `Depends(require_roles("admin"))` or `Annotated[Principal, Depends(require_roles(...))]`.
    """
    if not roles:
        raise ValueError("require_roles() needs at least one role")
    wanted = frozenset(roles)

    async def principal_with_role(principal: CurrentPrincipal) -> Principal:
        if principal.roles.isdisjoint(wanted):
            raise Forbidden("Your account does not have permission to do this.")
        return principal

    principal_with_role.__name__ = f"require_roles_{'_'.join(sorted(wanted))}"
    return principal_with_role


def require_permission(permission: str) -> Callable[[Principal], Awaitable[Principal]]:
    """`require_roles` for every role the shared table (`permissions.PERMISSIONS`) grants `permission`."""
    roles = roles_with(permission)
    if not roles:
        raise ValueError(f"no role grants {permission!r}")
    return require_roles(*roles)


def make_verifier(
    settings: BaseServiceSettings,
    *,
    audience: str | list[str] | None = None,
    is_revoked: Callable[[Principal], bool] | None = None,
    client: httpx.AsyncClient | None = None,
) -> TokenVerifier:
    """The verifier a service uses: auth's JWKS, the configured issuer and audience.

    `audience` overrides `settings.jwt_audience`. Keep user routes on the user audience only:
    internal routes verify service tokens with `internal_verifier(...)` (see `require_service`).
    """
    keys = JWKSCache(
        f"{settings.auth_url.rstrip('/')}/.well-known/jwks.json",
        cache_seconds=settings.jwks_cache_seconds,
        refetch_cooldown=settings.jwks_refetch_cooldown_seconds,
        timeout=settings.dependency_timeout_seconds,
        client=client,
    )
    return TokenVerifier(
        keys,
        issuer=settings.jwt_issuer,
        audience=audience if audience is not None else settings.jwt_audience,
        is_revoked=is_revoked,
    )
