"""HTTP for the signed-in user's notification preferences."""

from __future__ import annotations

from fastapi import APIRouter

from mcm_auth.deps import CurrentAccount
from mcm_auth.notifications import service
from mcm_auth.notifications.schemas import Preferences, PreferencesUpdate
from mcm_shared.errors import InvalidInput, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/auth/me/notification-preferences", tags=["notifications"])


@router.get("", response_model=Preferences, responses=problem_responses(Unauthenticated))
async def get_preferences(account: CurrentAccount, db: SessionDep) -> Preferences:
    return await service.get_preferences(db, user_id=account.user.id)


@router.put("", response_model=Preferences, responses=problem_responses(Unauthenticated, InvalidInput))
async def set_preferences(body: PreferencesUpdate, account: CurrentAccount, db: SessionDep) -> Preferences:
    """Set channels per topic; topics left out keep their current setting."""
    return await service.set_preferences(db, user_id=account.user.id, update=body)
