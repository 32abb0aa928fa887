"""HTTP for memberships. Routes only translate HTTP; rules live in service.py."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Query, Response, status

from mcm_circles.deps import DEFAULT_PAGE, CircleID, Cursor, Limit, UserID
from mcm_circles.memberships import payments, service
from mcm_circles.memberships.schemas import (
    Decision,
    FlaggedMembership,
    InvitationAuthority,
    MemberAdd,
    Membership,
    MembershipEnd,
    MyMembership,
    RoleChange,
)
from mcm_shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, problem_responses
from mcm_shared.pagination import Page
from mcm_shared.security import CurrentPrincipal, Principal, require_service
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/circles/{circle_id}", tags=["memberships"])
# Under /api/v1/members: the gateway routes that prefix to this service.
mine_router = APIRouter(prefix="/api/v1/members", tags=["memberships"])
# Never routed by the gateway (it refuses any path with an `internal` segment).
internal_router = APIRouter(prefix="/internal/v1/circles/{circle_id}", tags=["internal"])

READ = problem_responses(Unauthenticated, Forbidden, NotFound, InvalidInput)
WRITE = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, InvalidInput)


@router.post("/join", status_code=status.HTTP_201_CREATED, response_model=Membership, responses=WRITE)
async def join_circle(circle_id: CircleID, session: SessionDep, principal: CurrentPrincipal) -> Membership:
    """Join: an open circle makes you an active member at once; an approval circle a pending one.
    409 when the circle is full or you already have a current membership."""
    return await service.join(session, principal, circle_id)


@router.get("/members", response_model=Page[Membership], responses=READ)
async def list_members(
    circle_id: CircleID,
    session: SessionDep,
    principal: CurrentPrincipal,
    member_status: Annotated[Literal["active", "pending"], Query(alias="status")] = "active",
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[Membership]:
    """Members of the circle (display names only). Pending requests: facilitators and staff."""
    return await service.list_members(session, principal, circle_id, status=member_status, limit=limit, cursor=cursor)


@router.post("/members", status_code=status.HTTP_201_CREATED, response_model=Membership, responses=WRITE)
async def add_member(
    circle_id: CircleID, data: MemberAdd, session: SessionDep, principal: CurrentPrincipal
) -> Membership:
    """A facilitator (or admin) adds someone, as member or co-facilitator."""
    return await service.add_member(session, principal, circle_id, data)


@router.post("/members/{user_id}/approve", response_model=Membership, responses=WRITE)
async def approve_member(
    circle_id: CircleID, user_id: UserID, session: SessionDep, principal: CurrentPrincipal
) -> Membership:
    return await service.approve(session, principal, circle_id, user_id)


@router.post("/members/{user_id}/decline", response_model=Membership, responses=WRITE)
async def decline_member(
    circle_id: CircleID,
    user_id: UserID,
    session: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[Decision | None, Body()] = None,
) -> Membership:
    return await service.decline(session, principal, circle_id, user_id, data or Decision())


@router.put("/members/{user_id}/role", response_model=Membership, responses=WRITE)
async def change_member_role(
    circle_id: CircleID, user_id: UserID, data: RoleChange, session: SessionDep, principal: CurrentPrincipal
) -> Membership:
    """Make an active member a co-facilitator, or a co-facilitator a member again."""
    return await service.change_role(session, principal, circle_id, user_id, data)


@router.delete("/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=WRITE)
async def end_membership(
    circle_id: CircleID,
    user_id: UserID,
    session: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[MembershipEnd | None, Body()] = None,
) -> Response:
    """Leave (your own user id) or remove someone (facilitator/admin; `reason` required)."""
    await service.end(session, principal, circle_id, user_id, data or MembershipEnd())
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/flagged-members", response_model=Page[FlaggedMembership], responses=READ)
async def flagged_members(
    circle_id: CircleID,
    session: SessionDep,
    principal: CurrentPrincipal,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[FlaggedMembership]:
    """Members whose dues are overdue, for a human follow-up (facilitators and support)."""
    return await payments.flagged_in_circle(session, principal, circle_id, limit=limit, cursor=cursor)


@mine_router.get("/flagged", response_model=Page[FlaggedMembership], responses=READ)
async def flagged_everywhere(
    session: SessionDep, principal: CurrentPrincipal, limit: Limit = DEFAULT_PAGE, cursor: Cursor = None
) -> Page[FlaggedMembership]:
    """Flagged members across circles: all for support/leadership/admin, own circles for facilitators."""
    return await payments.flagged_everywhere(session, principal, limit=limit, cursor=cursor)


@mine_router.get(
    "/me/memberships", response_model=list[MyMembership], responses=problem_responses(Unauthenticated, Forbidden)
)
async def my_memberships(
    session: SessionDep, principal: CurrentPrincipal, include_ended: bool = False
) -> list[MyMembership]:
    """The caller's memberships (current ones, or the whole history with include_ended=true)."""
    return await payments.my_memberships(session, principal, include_ended=include_ended)


@internal_router.get(
    "/invitation-authority/{user_id}",
    response_model=InvitationAuthority,
    responses=problem_responses(Unauthenticated, Forbidden),
)
async def invitation_authority(
    circle_id: CircleID,
    user_id: UserID,
    session: SessionDep,
    _caller: Annotated[Principal, Depends(require_service("auth"))],
) -> InvitationAuthority:
    """For auth only: whether the circle is open and the user one of its active facilitators."""
    circle_open, facilitator = await service.invitation_authority(session, circle_id, user_id)
    return InvitationAuthority(circle_open=circle_open, facilitator=facilitator)
