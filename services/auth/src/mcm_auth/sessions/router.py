"""HTTP for sign-in, token refresh, logout and the user's sessions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from mcm_auth.deps import Client, CurrentAccount, RuntimeDep
from mcm_auth.security.passwords import HashingBusy
from mcm_auth.sessions import manage, service
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
    ),
)
async def login(body: Login, db: SessionDep, runtime: RuntimeDep, client: Client, response: Response) -> TokenPair:
    """Sign in with email and password. While an account is under a password-guessing attack,
    a correct password is answered `sign-in-code-required` and a code is emailed: send the same
    request again with `code` to finish."""
    response.headers.update(_NO_STORE)
    return await service.login(db, runtime, email=body.email, password=body.password, client=client, code=body.code)


@router.post("/refresh", response_model=TokenPair, responses=problem_responses(InvalidRefreshToken, InvalidInput))
async def refresh(body: Refresh, db: SessionDep, runtime: RuntimeDep, response: Response) -> TokenPair:
    response.headers.update(_NO_STORE)
    return await service.refresh(db, runtime, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(Unauthenticated))
async def logout(account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> None:
    """End this session: its refresh token stops working and its access token is refused."""
    await manage.end_session(db, runtime, user_id=account.user.id, session_id=account.session.id)


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
