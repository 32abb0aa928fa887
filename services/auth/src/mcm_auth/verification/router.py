"""HTTP for email and phone verification."""

from __future__ import annotations

from fastapi import APIRouter, status

from mcm_auth.deps import CurrentAccount, RuntimeDep
from mcm_auth.verification import service
from mcm_auth.verification.errors import AlreadyVerified, InvalidCode
from mcm_auth.verification.schemas import CodeIn, CodeSent, PhoneIn
from mcm_shared.errors import InvalidInput, RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["verification"])


@router.post(
    "/verify-email",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Unauthenticated, InvalidCode, AlreadyVerified),
)
async def verify_email(body: CodeIn, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> None:
    await service.verify(db, runtime, user_id=account.user.id, purpose=service.EMAIL, code=body.code)


@router.post(
    "/verify-email/resend",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CodeSent,
    responses=problem_responses(Unauthenticated, AlreadyVerified, RateLimited),
)
async def resend_email_code(account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> CodeSent:
    return await service.resend_email_code(db, runtime, user_id=account.user.id)


@router.post(
    "/phone",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=CodeSent,
    responses=problem_responses(Unauthenticated, InvalidInput, AlreadyVerified, RateLimited),
)
async def add_phone(body: PhoneIn, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> CodeSent:
    """Send a code by SMS to the number; it becomes the account's number once the code is entered."""
    return await service.request_phone_code(db, runtime, user_id=account.user.id, phone=body.phone)


@router.post(
    "/verify-phone", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(Unauthenticated, InvalidCode)
)
async def verify_phone(body: CodeIn, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> None:
    await service.verify(db, runtime, user_id=account.user.id, purpose=service.PHONE, code=body.code)
