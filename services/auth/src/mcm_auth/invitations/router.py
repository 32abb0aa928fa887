"""HTTP for invitations (auth owns them: the address is contact data). The token is never in an
answer, only in the email."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Path, status

from mcm_auth.deps import CurrentAccount, RuntimeDep
from mcm_auth.invitations import service
from mcm_auth.invitations.errors import (
    InvalidInvitation,
    InvalidInvitationToken,
    InvitationClosed,
    InvitationForSomeoneElse,
    InvitationNotFound,
    NotAllowedToInvite,
)
from mcm_auth.invitations.schemas import (
    InvitationAccept,
    InvitationAccepted,
    InvitationCreate,
    InvitationCreated,
    InvitationOut,
)
from mcm_shared.errors import Forbidden, InvalidInput, RateLimited, Unauthenticated, problem_responses
from mcm_shared.pagination import Page, PageParams, page_params
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/invitations", tags=["invitations"])

InvitationID = Annotated[uuid.UUID, Path(description="The invitation's id")]
Paging = Annotated[PageParams, Depends(page_params)]
_ERRORS = (Unauthenticated, Forbidden, InvalidInput)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=InvitationCreated,
    responses=problem_responses(*_ERRORS, NotAllowedToInvite, InvalidInvitation, RateLimited),
)
async def send_invitation(
    body: InvitationCreate, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep
) -> InvitationCreated:
    """Invite by email: into a circle (its facilitators, admins), onto an event's staff (ptm,
    admin) or into the organisation with roles (admin). Same answer whether or not the address
    has an account."""
    return await service.create(db, runtime, account.user, body)


@router.get("", response_model=Page[InvitationOut], responses=problem_responses(*_ERRORS))
async def list_invitations(account: CurrentAccount, db: SessionDep, page: Paging) -> Page[InvitationOut]:
    """The invitations the caller sent, newest first; admins see all."""
    return await service.list_sent(db, account.user, limit=page.limit, cursor=page.cursor)


@router.delete(
    "/{invitation_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(*_ERRORS, InvitationNotFound, InvitationClosed),
)
async def revoke_invitation(invitation_id: InvitationID, account: CurrentAccount, db: SessionDep) -> None:
    """Revoke: the link stops working. Only its sender or an admin (404 for anyone else)."""
    await service.revoke(db, account.user, invitation_id)


@router.post(
    "/{invitation_id}/resend",
    response_model=InvitationCreated,
    responses=problem_responses(*_ERRORS, InvitationNotFound, InvitationClosed, RateLimited),
)
async def resend_invitation(
    invitation_id: InvitationID, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep
) -> InvitationCreated:
    """Email a new link with a new expiry; the previous link dies."""
    return await service.resend(db, runtime, account.user, invitation_id)


@router.post(
    "/accept",
    response_model=InvitationAccepted,
    responses=problem_responses(*_ERRORS, InvalidInvitationToken, InvitationForSomeoneElse),
)
async def accept_invitation(
    body: InvitationAccept, account: CurrentAccount, db: SessionDep, runtime: RuntimeDep
) -> InvitationAccepted:
    """The signed-in caller accepts; the token is used up. Roles apply at once (audited); circle
    and event effects follow through circles (`invitation.accepted`)."""
    return await service.accept(db, runtime, account.user.id, body.token)
