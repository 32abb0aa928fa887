"""HTTP for the staff directory: GET /api/v1/directory?q=."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mcm_circles.deps import Cursor, Limit
from mcm_circles.directory import service
from mcm_circles.directory.schemas import DirectoryEntry
from mcm_shared.errors import Forbidden, InvalidInput, Unauthenticated, problem_responses
from mcm_shared.pagination import DEFAULT_LIMIT, Page
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/directory", tags=["directory"])

SearchText = Annotated[
    str | None, Query(max_length=100, description="Part of a display name (case-insensitive); empty lists everyone")
]


@router.get(
    "", response_model=Page[DirectoryEntry], responses=problem_responses(Unauthenticated, Forbidden, InvalidInput)
)
async def search_directory(
    session: SessionDep,
    principal: CurrentPrincipal,
    q: SearchText = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> Page[DirectoryEntry]:
    """Members by display name with their circles, for facilitators, ptms and staff above them.

    Public fields only; members who hid themselves (`PATCH /api/v1/members/me`) never appear.
    """
    return await service.search(session, principal, query=(q or "").strip() or None, limit=limit, cursor=cursor)
