"""HTTP for the signed-in user's own record."""

from __future__ import annotations

from fastapi import APIRouter

from mcm_auth.accounts import service
from mcm_auth.accounts.schemas import Me, ProfileUpdate
from mcm_auth.deps import CurrentAccount, RuntimeDep
from mcm_shared.errors import InvalidInput, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth", tags=["accounts"])


@router.get("/me", response_model=Me, responses=problem_responses(Unauthenticated))
async def me(account: CurrentAccount) -> Me:
    return service.to_me(account.user)


@router.patch("/me", response_model=Me, responses=problem_responses(Unauthenticated, InvalidInput))
async def update_me(body: ProfileUpdate, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep) -> Me:
    """Change the display name (the only name other members see)."""
    return service.to_me(await service.rename(db, runtime, user_id=account.user.id, display_name=body.display_name))
