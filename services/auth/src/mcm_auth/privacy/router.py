"""HTTP for the signed-in user's own data: export and erasure."""

from __future__ import annotations

from fastapi import APIRouter, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from mcm_auth.admin.errors import LastAdmin
from mcm_auth.deps import Client, CurrentAccount, RuntimeDep
from mcm_auth.internal.client import ServiceUnavailable
from mcm_auth.passwords.errors import WrongCurrentPassword
from mcm_auth.privacy import service
from mcm_auth.privacy.schemas import Erasure
from mcm_auth.security.passwords import HashingBusy
from mcm_shared.errors import RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.get("/me/export", responses=problem_responses(Unauthenticated, ServiceUnavailable))
async def export_my_data(account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> JSONResponse:
    """Everything the platform holds about the signed-in user, as one JSON document: auth's part
    at the top level, circles' and payments' parts under `circles` and `payments` (503 naming
    the service when one cannot answer)."""
    data = await service.export_everything(db, runtime, user=account.user)
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
    await service.erase(db, runtime, user_id=account.user.id, password=body.password, client_ip=client.ip_address)
