"""HTTP for password reset and change."""

from __future__ import annotations

from fastapi import APIRouter, status

from mcm_auth.deps import Client, CurrentAccount, RuntimeDep
from mcm_auth.passwords import service
from mcm_auth.passwords.errors import InvalidResetToken, WrongCurrentPassword
from mcm_auth.passwords.schemas import Accepted, PasswordChange, ResetConfirm, ResetRequest
from mcm_auth.security.passwords import HashingBusy
from mcm_shared.errors import InvalidInput, RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["passwords"])


@router.post(
    "/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Accepted,
    responses=problem_responses(InvalidInput, RateLimited),
)
async def request_reset(body: ResetRequest, db: SessionDep, runtime: RuntimeDep, client: Client) -> Accepted:
    """Email a single-use reset link if the address has an account; the answer is always 202."""
    await service.request_reset(db, runtime, email=body.email, client_ip=client.ip_address)
    return Accepted()


@router.post(
    "/password-reset/confirm",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(InvalidResetToken, HashingBusy),
)
async def confirm_reset(body: ResetConfirm, db: SessionDep, runtime: RuntimeDep) -> None:
    """Set a new password with a reset token; every session of the account is signed out."""
    await service.confirm_reset(db, runtime, token=body.token, new_password=body.new_password)


@router.post(
    "/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Unauthenticated, WrongCurrentPassword, InvalidInput, RateLimited, HashingBusy),
)
async def change_password(
    body: PasswordChange, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep, client: Client
) -> None:
    """Change the password (the current one is required); other sessions are signed out."""
    await service.change_password(
        db,
        runtime,
        user_id=account.user.id,
        session_id=account.session.id,
        current=body.current_password,
        new_password=body.new_password,
        client_ip=client.ip_address,
    )
