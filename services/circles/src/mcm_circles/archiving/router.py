"""HTTP for archiving a circle (DELETE /api/v1/circles/{id}); the rules are in service.py."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from mcm_circles.archiving import service as archive
from mcm_circles.deps import CircleID
from mcm_shared.errors import Forbidden, NotFound, Unauthenticated, problem_responses
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/circles", tags=["circles"])


@router.delete(
    "/{circle_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(Unauthenticated, Forbidden, NotFound),
)
async def archive_circle(circle_id: CircleID, session: SessionDep, principal: CurrentPrincipal) -> Response:
    """Archive: memberships end, future meetings are cancelled, history stays."""
    await archive.archive_circle(session, principal, circle_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
