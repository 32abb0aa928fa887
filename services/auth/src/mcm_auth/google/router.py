"""HTTP for Google sign-in."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mcm_auth.deps import Client, RuntimeDep
from mcm_auth.google import service
from mcm_auth.google.errors import GoogleDisabled, InvalidState
from mcm_auth.google.schemas import AuthorizationResult, AuthorizationStart
from mcm_auth.oidc.errors import GoogleRejected, GoogleUnavailable
from mcm_auth.sessions.errors import AccountDisabled
from mcm_auth.sessions.schemas import TokenPair
from mcm_shared.errors import InvalidInput, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth/oidc/google", tags=["google sign-in"])


@router.get("/start", response_model=AuthorizationStart, responses=problem_responses(GoogleDisabled))
async def start(runtime: RuntimeDep, response: Response) -> AuthorizationStart:
    """Where to send the user to sign in with Google. Keep `state` and check it comes back."""
    response.headers["Cache-Control"] = "no-store"
    return await service.start(runtime)


@router.post(
    "/callback",
    response_model=TokenPair,
    responses=problem_responses(
        GoogleDisabled, InvalidState, InvalidInput, GoogleRejected, AccountDisabled, GoogleUnavailable
    ),
)
async def callback(
    body: AuthorizationResult, db: SessionDep, runtime: RuntimeDep, client: Client, response: Response
) -> TokenPair:
    """Finish the sign-in with the `code` and `state` Google sent back: a token pair, as from login."""
    response.headers["Cache-Control"] = "no-store"
    return await service.finish(db, runtime, code=body.code, state=body.state, client=client)


@router.get(
    "/callback",
    response_model=TokenPair,
    responses=problem_responses(
        GoogleDisabled, InvalidState, InvalidInput, GoogleRejected, AccountDisabled, GoogleUnavailable
    ),
)
async def callback_redirect(
    db: SessionDep,
    runtime: RuntimeDep,
    client: Client,
    response: Response,
    code: Annotated[str, Query(min_length=1, max_length=2048)],
    state: Annotated[str, Query(min_length=16, max_length=128)],
) -> TokenPair:
    """The same, when `GOOGLE_REDIRECT_URI` points straight at this API (no frontend page in between)."""
    response.headers["Cache-Control"] = "no-store"
    return await service.finish(db, runtime, code=code, state=state, client=client)
