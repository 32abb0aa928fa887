"""HTTP for the caller's own profile."""

from __future__ import annotations

from fastapi import APIRouter

from mcm_circles.profiles import service
from mcm_circles.profiles.schemas import Profile, ProfileUpdate
from mcm_shared.errors import Forbidden, InvalidInput, Unauthenticated, problem_responses
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

# Under /api/v1/members: the gateway routes that prefix to this service.
router = APIRouter(prefix="/api/v1/members", tags=["profiles"])


@router.get("/me", response_model=Profile, responses=problem_responses(Unauthenticated, Forbidden))
async def get_my_profile(session: SessionDep, principal: CurrentPrincipal) -> Profile:
    """The caller's profile in the circles service (display name and verification flags)."""
    return await service.my_profile(session, principal)


@router.patch("/me", response_model=Profile, responses=problem_responses(Unauthenticated, Forbidden, InvalidInput))
async def update_my_profile(session: SessionDep, principal: CurrentPrincipal, body: ProfileUpdate) -> Profile:
    """Change the caller's own settings here: `directory_visible: false` hides him from the staff directory."""
    return await service.update_my_profile(session, principal, body)
