"""HTTP for sign-in, token refresh, logout and the user's sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from mcm_auth.deps import Client, CurrentAccount, RuntimeDep
from mcm_auth.security.passwords import HashingBusy
from mcm_auth.sessions import cookie, manage, service
from mcm_auth.sessions.cookie import CsrfHeaderRequired
from mcm_auth.sessions.errors import (
    AccountDisabled,
    InvalidCredentials,
    InvalidRefreshToken,
    InvalidSignInCode,
    SessionNotFound,
    SignInCodeRequired,
)
from mcm_auth.sessions.schemas import Login, Refresh, SessionInfo, TokenPair
from mcm_shared.errors import InvalidInput, RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["sessions"])

SessionID = Annotated[uuid.UUID, Path(description="A session id from GET /api/v1/auth/sessions")]

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.post(
    "/login",
    response_model=TokenPair,
    responses=problem_responses(
        InvalidCredentials,
        SignInCodeRequired,
        InvalidSignInCode,
        AccountDisabled,
        InvalidInput,
        RateLimited,
        HashingBusy,
        CsrfHeaderRequired,
    ),
)
async def login(
    body: Login, db: SessionDep, runtime: RuntimeDep, client: Client, request: Request, response: Response
) -> TokenPair:
    """Sign in with email and password. While an account is under a password-guessing attack,
    a correct password is answered `sign-in-code-required` and a code is emailed: send the same
    request again with `code` to finish. Browsers send `X-Refresh-Cookie: 1` and `X-CSRF: 1`:
    the refresh token then comes only as an HttpOnly cookie and `refresh_token` is null."""
    response.headers.update(_NO_STORE)
    as_cookie = cookie.wants_cookie(request)
    if as_cookie:
        cookie.require_csrf_header(request)
    pair = await service.login(db, runtime, email=body.email, password=body.password, client=client, code=body.code)
    return _deliver(pair, runtime, response, as_cookie=as_cookie)


@router.post(
    "/refresh",
    response_model=TokenPair,
    responses=problem_responses(InvalidRefreshToken, InvalidInput, CsrfHeaderRequired),
)
async def refresh(
    body: Refresh, db: SessionDep, runtime: RuntimeDep, request: Request, response: Response
) -> TokenPair:
    """A new pair for `refresh_token`; without one, the HttpOnly cookie a browser login set is
    used (then `X-CSRF: 1` is required and the new token comes back as the cookie only)."""
    response.headers.update(_NO_STORE)
    token = body.refresh_token
    as_cookie = cookie.wants_cookie(request)
    if token is None:
        token = cookie.from_request(request)
        as_cookie = True
    if as_cookie:
        cookie.require_csrf_header(request)
    if token is None:
        raise InvalidRefreshToken("No refresh token was sent.")
    pair = await service.refresh(db, runtime, refresh_token=token)
    return _deliver(pair, runtime, response, as_cookie=as_cookie)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(Unauthenticated))
async def logout(account: CurrentAccount, db: SessionDep, runtime: RuntimeDep, response: Response) -> None:
    """End this session: its refresh token stops working and its access token is refused; a
    browser's refresh cookie is cleared."""
    await manage.end_session(db, runtime, user_id=account.user.id, session_id=account.session.id)
    cookie.clear_on(response, secure=_https(runtime))


def _https(runtime: RuntimeDep) -> bool:
    return runtime.settings.public_app_url.startswith("https://")


def _deliver(pair: TokenPair, runtime: RuntimeDep, response: Response, *, as_cookie: bool) -> TokenPair:
    if not as_cookie or pair.refresh_token is None:
        return pair
    cookie.set_on(
        response, pair.refresh_token, max_age=runtime.settings.refresh_absolute_ttl_seconds, secure=_https(runtime)
    )
    return pair.model_copy(update={"refresh_token": None})


@router.post("/logout-all", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(Unauthenticated))
async def logout_everywhere(account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> None:
    """End every session of this account, this one included."""
    await manage.end_all(db, runtime, user_id=account.user.id)


@router.get("/sessions", response_model=list[SessionInfo], responses=problem_responses(Unauthenticated))
async def list_sessions(account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> list[SessionInfo]:
    return await manage.list_sessions(db, runtime, user_id=account.user.id, current=account.session.id)


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Unauthenticated, SessionNotFound),
)
async def end_session(session_id: SessionID, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> None:
    await manage.end_session(db, runtime, user_id=account.user.id, session_id=session_id)
