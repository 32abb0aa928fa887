"""HTTP for circles. Routes only translate HTTP; rules live in service.py."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response, status

from mcm_circles.circles import service
from mcm_circles.circles.schemas import (
    Circle,
    CircleCreate,
    CircleImport,
    CircleImportResult,
    CircleQuery,
    CircleUpdate,
    MeetingPlace,
)
from mcm_circles.deps import CircleID, ListingCacheDep
from mcm_shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, problem_responses
from mcm_shared.pagination import Page
from mcm_shared.security import CurrentPrincipal, Principal, require_service
from mcm_shared.wiring import SessionDep, SessionOpenerDep

router = APIRouter(prefix="/api/v1/circles", tags=["circles"])
# Never routed by the gateway (it refuses any path with an `internal` segment).
internal_router = APIRouter(prefix="/internal/v1/imports", tags=["internal"])


@router.get("", response_model=Page[Circle], responses=problem_responses(Unauthenticated, InvalidInput))
async def list_circles(
    open_session: SessionOpenerDep,
    principal: CurrentPrincipal,
    query: Annotated[CircleQuery, Query()],
    cache: ListingCacheDep,
) -> Response:
    """Circles the caller may see: public ones, private ones he belongs to, all of them for staff."""
    # Already JSON (often straight from the listing cache), so FastAPI need not validate it again.
    return Response(await service.list_circles(open_session, principal, query, cache), media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Circle,
    responses=problem_responses(Unauthenticated, Forbidden, InvalidInput),
)
async def create_circle(data: CircleCreate, session: SessionDep, principal: CurrentPrincipal) -> Circle:
    """Facilitators and admins create circles; the creator becomes its facilitator."""
    return await service.create_circle(session, principal, data)


@router.get("/{circle_id}", response_model=Circle, responses=problem_responses(Unauthenticated, NotFound))
async def get_circle(
    circle_id: CircleID, open_session: SessionOpenerDep, principal: CurrentPrincipal, cache: ListingCacheDep
) -> Response:
    return Response(await service.get_circle(open_session, principal, circle_id, cache), media_type="application/json")


@router.get(
    "/{circle_id}/location",
    response_model=MeetingPlace,
    responses=problem_responses(Unauthenticated, Forbidden, NotFound),
)
async def get_meeting_place(circle_id: CircleID, session: SessionDep, principal: CurrentPrincipal) -> MeetingPlace:
    """Where the circle meets (address, video-call link): its active members, facilitators and
    staff only; never part of the circle or the listing, which anyone who sees the circle reads."""
    return await service.get_meeting_place(session, principal, circle_id)


@router.patch(
    "/{circle_id}",
    response_model=Circle,
    responses=problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, InvalidInput),
)
async def update_circle(
    circle_id: CircleID, data: CircleUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Circle:
    """Change only the fields sent. capacity_max cannot drop below the current member count (409)."""
    return await service.update_circle(session, principal, circle_id, data)


@internal_router.post(
    "/circles", response_model=CircleImportResult, responses=problem_responses(Unauthenticated, Forbidden, InvalidInput)
)
async def import_circles(
    data: CircleImport, session: SessionDep, _caller: Annotated[Principal, Depends(require_service("auth"))]
) -> CircleImportResult:
    """For auth's bulk import only: check every circle row, and unless it is a dry run or a row is
    invalid, create the circles whose key was never imported (idempotent on the key)."""
    return await service.import_circles(session, data)
