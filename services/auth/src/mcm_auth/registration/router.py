"""HTTP for registration."""

from __future__ import annotations

from fastapi import APIRouter, status

from mcm_auth.deps import Client, RuntimeDep
from mcm_auth.registration import service
from mcm_auth.registration.schemas import Registration, RegistrationAccepted
from mcm_auth.security.passwords import HashingBusy
from mcm_shared.errors import InvalidInput, RateLimited, problem_responses
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
