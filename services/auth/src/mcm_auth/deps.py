"""Request dependencies of the auth service: its runtime, the caller's client details and the
signed-in account (token verified, then its session and account checked in the database, so a
revoked session is refused here at once, not only at the gateway)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mcm_auth.accounts.errors import AccountUnavailable
from mcm_auth.accounts.models import User
from mcm_auth.roles.permissions import permissions_of
from mcm_auth.runtime import AuthRuntime
from mcm_auth.sessions.models import Session
from mcm_auth.sessions.service import ClientInfo
from mcm_shared.errors import Forbidden
from mcm_shared.security import current_principal
from mcm_shared.security.principal import Principal
from mcm_shared.wiring import SessionDep

_bearer = HTTPBearer(scheme_name="BearerToken", bearerFormat="JWT", auto_error=False)


async def get_runtime(request: Request) -> AuthRuntime:
    """The runtime the lifespan built (read only: dependencies never write `app.state`)."""
    runtime: AuthRuntime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[AuthRuntime, Depends(get_runtime)]


async def client_info(request: Request, runtime: RuntimeDep) -> ClientInfo:
    """The caller's address by the platform's one rule (mcm_shared.client_address): behind
    ingress → gateway, both trusted through FORWARDED_ALLOW_IPS, it is the real client."""
    peer = request.client.host if request.client else None
    ip = peer
    if peer:
        ip = runtime.trusted_proxies.client(peer, request.headers.get("x-forwarded-for"))
    return ClientInfo(ip_address=ip, user_agent=request.headers.get("user-agent"))


Client = Annotated[ClientInfo, Depends(client_info)]


@dataclass(frozen=True)
class SignedIn:
    principal: Principal
    user: User
    session: Session


async def signed_in(
    request: Request,
    db: SessionDep,
    runtime: RuntimeDep,
    _openapi: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> SignedIn:
    await runtime.keyring.reload_if_stale(runtime.database)
    kid = _unverified_kid(request)
    if kid is not None:
        await runtime.keyring.learn_kid(runtime.database, kid)
    principal = await current_principal(request)
    if principal.user_id is None or principal.session_id is None:
        raise AccountUnavailable("This endpoint needs a user's access token.")
    record = await db.get(Session, principal.session_id)
    user = await db.get(User, principal.user_id)
    if (
        record is None
        or record.revoked_at is not None
        or record.user_id != principal.user_id
        or user is None
        or not user.active
    ):
        raise AccountUnavailable("The session has ended; sign in again.")
    return SignedIn(principal, user, record)


CurrentAccount = Annotated[SignedIn, Depends(signed_in)]


def _unverified_kid(request: Request) -> str | None:
    """The `kid` a bearer token claims, read without trusting anything else in it."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or len(token) > 8192:
        return None
    try:
        kid = jwt.get_unverified_header(token.strip()).get("kid")
    except jwt.PyJWTError:
        return None
    return kid if isinstance(kid, str) and 0 < len(kid) <= 64 else None


def require_permission(permission: str) -> Callable[[SignedIn], Awaitable[SignedIn]]:
    """403 unless the caller's current roles (read from the database) grant `permission`."""

    async def check(account: CurrentAccount) -> SignedIn:
        if permission not in permissions_of(account.user.roles):
            raise Forbidden("Your account does not have permission to do this.")
        return account

    check.__name__ = f"require_{permission.replace(':', '_')}"
    return check
