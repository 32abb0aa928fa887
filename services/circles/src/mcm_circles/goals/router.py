"""HTTP for goals."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Response, status

from mcm_circles.deps import CircleID, GoalID
from mcm_circles.goals import service
from mcm_circles.goals.schemas import Goal, GoalCreate, GoalSummary, GoalUpdate
from mcm_shared.errors import Forbidden, InvalidInput, NotFound, Unauthenticated, problem_responses
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/circles/{circle_id}/goals", tags=["goals"])

RESPONSES = problem_responses(Unauthenticated, Forbidden, NotFound, InvalidInput)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=Goal, responses=RESPONSES)
async def set_goal(circle_id: CircleID, data: GoalCreate, session: SessionDep, principal: CurrentPrincipal) -> Goal:
    """An active member sets himself a goal for a period."""
    return await service.create(session, principal, circle_id, data)


@router.get("/me", response_model=list[Goal], responses=RESPONSES)
async def my_goals(
    circle_id: CircleID,
    session: SessionDep,
    principal: CurrentPrincipal,
    period_start: date | None = None,
    period_end: date | None = None,
) -> list[Goal]:
    """The caller's goals in this circle whose period overlaps [period_start, period_end]."""
    return await service.mine(session, principal, circle_id, period_start, period_end)


@router.get("/summary", response_model=GoalSummary, responses=RESPONSES)
async def goal_completion(
    circle_id: CircleID,
    session: SessionDep,
    principal: CurrentPrincipal,
    period_start: date | None = None,
    period_end: date | None = None,
) -> GoalSummary:
    """Completion rate of the circle and each member (facilitators and staff)."""
    return await service.summary(session, principal, circle_id, period_start, period_end)


@router.patch("/{goal_id}", response_model=Goal, responses=RESPONSES)
async def update_goal(
    circle_id: CircleID, goal_id: GoalID, data: GoalUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Goal:
    return await service.update(session, principal, circle_id, goal_id, data)


@router.post("/{goal_id}/done", response_model=Goal, responses=RESPONSES)
async def mark_goal_done(
    circle_id: CircleID, goal_id: GoalID, session: SessionDep, principal: CurrentPrincipal
) -> Goal:
    return await service.mark_done(session, principal, circle_id, goal_id)


@router.delete("/{goal_id}", status_code=status.HTTP_204_NO_CONTENT, responses=RESPONSES)
async def delete_goal(
    circle_id: CircleID, goal_id: GoalID, session: SessionDep, principal: CurrentPrincipal
) -> Response:
    await service.delete(session, principal, circle_id, goal_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
