"""HTTP for transfer requests."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status

from mcm_circles.deps import DEFAULT_PAGE, CircleID, Cursor, Limit, TransferID, UserID
from mcm_circles.transfers import service
from mcm_circles.transfers.schemas import MemberMove, MemberMoved, TransferCreate, TransferDecision, TransferRequest
from mcm_shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, problem_responses
from mcm_shared.pagination import Page
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

circle_router = APIRouter(prefix="/api/v1/circles/{circle_id}/transfer-requests", tags=["transfers"])
router = APIRouter(prefix="/api/v1/transfer-requests", tags=["transfers"])
move_router = APIRouter(prefix="/api/v1/circles/{circle_id}/members", tags=["transfers"])

WRITE = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, InvalidInput)


@circle_router.post("", status_code=status.HTTP_201_CREATED, response_model=TransferRequest, responses=WRITE)
async def request_transfer(
    circle_id: CircleID, data: TransferCreate, session: SessionDep, principal: CurrentPrincipal
) -> TransferRequest:
    """An active member of this circle asks to move to `to_circle_id`."""
    return await service.request_transfer(session, principal, circle_id, data)


@circle_router.get(
    "",
    response_model=Page[TransferRequest],
    responses=problem_responses(Unauthenticated, Forbidden, NotFound, InvalidInput),
)
async def list_transfer_requests(
    circle_id: CircleID,
    session: SessionDep,
    principal: CurrentPrincipal,
    direction: Literal["incoming", "outgoing"] = "incoming",
    request_status: Annotated[
        Literal["pending", "approved", "declined", "cancelled"] | None, Query(alias="status")
    ] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[TransferRequest]:
    """Requests into (incoming) or out of (outgoing) this circle; facilitators and staff."""
    return await service.list_for_circle(
        session,
        principal,
        circle_id,
        incoming=direction == "incoming",
        status=request_status,
        limit=limit,
        cursor=cursor,
    )


@router.get("/{transfer_id}", response_model=TransferRequest, responses=problem_responses(Unauthenticated, NotFound))
async def get_transfer_request(
    transfer_id: TransferID, session: SessionDep, principal: CurrentPrincipal
) -> TransferRequest:
    return await service.get_transfer(session, principal, transfer_id)


@router.post("/{transfer_id}/approve", response_model=TransferRequest, responses=WRITE)
async def approve_transfer(
    transfer_id: TransferID,
    session: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[TransferDecision | None, Body()] = None,
) -> TransferRequest:
    """Target circle's facilitator or admin: move the membership (409 if the target is full)."""
    return await service.decide(session, principal, transfer_id, data or TransferDecision(), approve=True)


@router.post("/{transfer_id}/decline", response_model=TransferRequest, responses=WRITE)
async def decline_transfer(
    transfer_id: TransferID,
    session: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[TransferDecision | None, Body()] = None,
) -> TransferRequest:
    return await service.decide(session, principal, transfer_id, data or TransferDecision(), approve=False)


@router.post("/{transfer_id}/cancel", response_model=TransferRequest, responses=WRITE)
async def cancel_transfer(transfer_id: TransferID, session: SessionDep, principal: CurrentPrincipal) -> TransferRequest:
    """The requester withdraws his pending request."""
    return await service.cancel(session, principal, transfer_id)


@move_router.post("/{user_id}/move", response_model=MemberMoved, responses=WRITE)
async def move_member(
    circle_id: CircleID, user_id: UserID, data: MemberMove, session: SessionDep, principal: CurrentPrincipal
) -> MemberMoved:
    """Staff move a member to `to_circle_id` directly (ptm, support, admin; or a facilitator of
    both circles), audited with `reason`: the old membership ends and the new one starts in one
    transaction, under the target's capacity (409 when full)."""
    return await service.move_member(session, principal, circle_id, user_id, data)
