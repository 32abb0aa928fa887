"""HTTP for user administration (staff only)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from mcm_auth.accounts.errors import AccountNotFound
from mcm_auth.admin import service
from mcm_auth.admin.errors import LastAdmin, NotOnYourself
from mcm_auth.admin.schemas import AuditRecord, RolesUpdate, StatusChange, UserSummary
from mcm_auth.deps import RuntimeDep, SignedIn, require_permission
from mcm_shared.errors import Forbidden, InvalidInput, Unauthenticated, problem_responses
from mcm_shared.pagination import Page, PageParams, page_params
from mcm_shared.security import Role
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/users", tags=["admin"])

UserID = Annotated[uuid.UUID, Path(description="The user's id")]
CanReadUsers = Annotated[SignedIn, Depends(require_permission("users:read"))]
CanReadAudit = Annotated[SignedIn, Depends(require_permission("users:audit:read"))]
CanWriteRoles = Annotated[SignedIn, Depends(require_permission("users:roles:write"))]
CanDisable = Annotated[SignedIn, Depends(require_permission("users:disable"))]
Paging = Annotated[PageParams, Depends(page_params)]
_ERRORS = (Unauthenticated, Forbidden, InvalidInput)


@router.get("", response_model=Page[UserSummary], responses=problem_responses(*_ERRORS))
async def list_users(
    staff: CanReadUsers,
    db: SessionDep,
    page: Paging,
    email: Annotated[str | None, Query(max_length=254, description="Part of the email address")] = None,
    role: Annotated[Role | None, Query()] = None,
) -> Page[UserSummary]:
    return await service.list_users(
        db, email=email.strip().lower() if email else None, role=role, limit=page.limit, cursor=page.cursor
    )


@router.put(
    "/{user_id}/roles",
    response_model=UserSummary,
    responses=problem_responses(*_ERRORS, AccountNotFound, LastAdmin, NotOnYourself),
)
async def set_roles(
    user_id: UserID, body: RolesUpdate, admin: CanWriteRoles, db: SessionDep, runtime: RuntimeDep
) -> UserSummary:
    """Replace the user's roles (member is always kept). Losing a role signs the user out everywhere."""
    return await service.set_roles(
        db, runtime, actor_id=admin.user.id, user_id=user_id, roles=body.roles, reason=body.reason
    )


@router.get(
    "/{user_id}/audit", response_model=Page[AuditRecord], responses=problem_responses(*_ERRORS, AccountNotFound)
)
async def audit(user_id: UserID, staff: CanReadAudit, db: SessionDep, page: Paging) -> Page[AuditRecord]:
    return await service.audit_of(db, subject_id=user_id, limit=page.limit, cursor=page.cursor)


@router.post(
    "/{user_id}/disable",
    response_model=UserSummary,
    responses=problem_responses(*_ERRORS, AccountNotFound, LastAdmin, NotOnYourself),
)
async def disable(
    user_id: UserID, body: StatusChange, admin: CanDisable, db: SessionDep, runtime: RuntimeDep
) -> UserSummary:
    """Disable the account: sign-in is refused and every session ends at once."""
    return await service.set_disabled(
        db, runtime, actor_id=admin.user.id, user_id=user_id, disabled=True, reason=body.reason
    )


@router.post(
    "/{user_id}/enable",
    response_model=UserSummary,
    responses=problem_responses(*_ERRORS, AccountNotFound, NotOnYourself),
)
async def enable(
    user_id: UserID, body: StatusChange, admin: CanDisable, db: SessionDep, runtime: RuntimeDep
) -> UserSummary:
    return await service.set_disabled(
        db, runtime, actor_id=admin.user.id, user_id=user_id, disabled=False, reason=body.reason
    )
