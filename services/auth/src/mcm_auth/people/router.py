"""HTTP for staff acting for one member: overview (support, admin), resend code and reset link
(support, admin), export and erasure on his behalf (admin)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse

from mcm_auth.accounts.errors import AccountNotFound
from mcm_auth.admin.errors import LastAdmin, NotOnYourself
from mcm_auth.admin.schemas import Reason
from mcm_auth.deps import RuntimeDep, SignedIn, require_permission
from mcm_auth.internal.client import ServiceUnavailable
from mcm_auth.passwords.errors import NoResetPossible
from mcm_auth.people import service
from mcm_auth.people.schemas import ErasureOnBehalf, Sent
from mcm_auth.privacy.errors import AlreadyErased
from mcm_auth.verification.errors import AlreadyVerified, NoEmailAddress
from mcm_shared.errors import Forbidden, RateLimited, Unauthenticated, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/users", tags=["people"])
UserID = Annotated[uuid.UUID, Path(description="The member's id")]
CanView = Annotated[SignedIn, Depends(require_permission("users:overview"))]
CanAssist = Annotated[SignedIn, Depends(require_permission("users:assist"))]
CanActForPrivacy = Annotated[SignedIn, Depends(require_permission("users:privacy"))]
_ERRORS = (Unauthenticated, Forbidden, AccountNotFound)


@router.get("/{user_id}/overview", responses=problem_responses(*_ERRORS))
async def member_overview(user_id: UserID, staff: CanView, db: SessionDep, runtime: RuntimeDep) -> dict[str, Any]:
    """One member for support: account and verification state, sessions, memberships,
    registrations, obligations and payments. A service that does not answer leaves its lists
    `null` and is named in `unavailable`. Audited (`overview.viewed`)."""
    result: dict[str, Any] = jsonable_encoder(
        await service.overview(db, runtime, actor_id=staff.user.id, user_id=user_id)
    )
    return result


@router.post(
    "/{user_id}/verification/resend",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_ERRORS, AlreadyVerified, NoEmailAddress, RateLimited),
)
async def resend_member_verification(user_id: UserID, staff: CanAssist, db: SessionDep, runtime: RuntimeDep) -> Sent:
    """Send the member a fresh email verification code (to his address). Audited."""
    await service.resend_verification(db, runtime, actor_id=staff.user.id, user_id=user_id)
    return Sent()


@router.post(
    "/{user_id}/password-reset",
    status_code=status.HTTP_202_ACCEPTED,
    responses=problem_responses(*_ERRORS, NoResetPossible, RateLimited),
)
async def start_member_password_reset(user_id: UserID, staff: CanAssist, db: SessionDep, runtime: RuntimeDep) -> Sent:
    """Email the member a password reset link. The link goes to him only: this answer holds no
    token. Audited."""
    await service.start_password_reset(db, runtime, actor_id=staff.user.id, user_id=user_id)
    return Sent()


@router.get("/{user_id}/export", responses=problem_responses(*_ERRORS, ServiceUnavailable))
async def export_member_data(
    user_id: UserID,
    admin: CanActForPrivacy,
    db: SessionDep,
    runtime: RuntimeDep,
    reason: Annotated[Reason, Query(description="Why (e.g. his request's reference); audited")],
) -> JSONResponse:
    """The member's export (what every service holds about him), for an admin answering his
    request. Audited (`account.exported`)."""
    data = await service.export_on_behalf(db, runtime, actor_id=admin.user.id, user_id=user_id, reason=reason)
    return JSONResponse(
        jsonable_encoder(data),
        headers={"Content-Disposition": f'attachment; filename="account-{user_id}.json"', "Cache-Control": "no-store"},
    )


@router.post(
    "/{user_id}/erase",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_ERRORS, AlreadyErased, LastAdmin, NotOnYourself),
)
async def erase_member(
    user_id: UserID, body: ErasureOnBehalf, admin: CanActForPrivacy, db: SessionDep, runtime: RuntimeDep
) -> None:
    """Erase the member's account on his request, across every service (`user.erased`).
    Audited (`account.erased`, with the reason)."""
    await service.erase_on_behalf(db, runtime, actor_id=admin.user.id, user_id=user_id, reason=body.reason)
