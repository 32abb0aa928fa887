"""HTTP for registration and the signed-in user's own record."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from mcm_auth.accounts import privacy, service
from mcm_auth.accounts.schemas import Erasure, Me, ProfileUpdate, Registration, RegistrationAccepted
from mcm_auth.admin.errors import LastAdmin
from mcm_auth.deps import Client, CurrentAccount, RuntimeDep
from mcm_auth.passwords.errors import WrongCurrentPassword
from mcm_auth.security.passwords import HashingBusy
from mcm_shared.errors import InvalidInput, RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationAccepted,
    responses=problem_responses(InvalidInput, RateLimited, HashingBusy),
)
async def register(body: Registration, db: SessionDep, runtime: RuntimeDep, client: Client) -> RegistrationAccepted:
    """Create an account. An address that already has one gets the same answer, and its owner
    an email, so this endpoint never tells who is registered."""
    await service.register(db, runtime, body, client_ip=client.ip_address)
    return RegistrationAccepted()


@router.get("/me", response_model=Me, responses=problem_responses(Unauthenticated))
async def me(account: CurrentAccount) -> Me:
    return service.to_me(account.user)


@router.patch("/me", response_model=Me, responses=problem_responses(Unauthenticated, InvalidInput))
async def update_me(body: ProfileUpdate, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> Me:
    """Change the display name (the only name other members see)."""
    return service.to_me(await privacy.rename(db, runtime, user_id=account.user.id, display_name=body.display_name))


@router.get("/me/export", responses=problem_responses(Unauthenticated))
async def export_my_data(account: CurrentAccount, db: SessionDep) -> JSONResponse:
    """Everything auth holds about the signed-in user, as one JSON document."""
    data = await privacy.export(db, user=account.user)
    return JSONResponse(
        jsonable_encoder(data),
        headers={"Content-Disposition": 'attachment; filename="my-account.json"', "Cache-Control": "no-store"},
    )


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Unauthenticated, WrongCurrentPassword, LastAdmin, RateLimited, HashingBusy),
)
async def delete_my_account(
    body: Erasure, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep, client: Client
) -> None:
    """Erase credentials and contact details, end every session and tell other services.
    Wrong passwords count like failed sign-ins (per account and client address)."""
    await privacy.erase(db, runtime, user_id=account.user.id, password=body.password, client_ip=client.ip_address)
