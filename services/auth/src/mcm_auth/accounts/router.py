"""HTTP for registration and the signed-in user's own record."""
from __future__ import annotations

from fastapi import APIRouter, status

from mcm_shared.errors import InvalidInput, RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

from mcm_auth.accounts import service
from mcm_auth.accounts.schemas import Me, Registration, RegistrationAccepted
from mcm_auth.deps import Client, CurrentAccount, Ctx

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationAccepted,
    responses=problem_responses(InvalidInput, RateLimited),
)
async def register(body: Registration, db: SessionDep, ctx: Ctx, client: Client) -> RegistrationAccepted:
    """Create an account. An address that already has one gets the same answer, and its owner
    an email, so this endpoint never tells who is registered."""
    await service.register(db, ctx, body, client_ip=client.ip_address)
    return RegistrationAccepted()


@router.get("/me", response_model=Me, responses=problem_responses(Unauthenticated))
async def me(account: CurrentAccount) -> Me:
    return service.to_me(account.user)
