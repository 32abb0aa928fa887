"""Goal use cases: a member sets goals for a period and marks them done; facilitators and staff
see completion rates (not the goals' words)."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.clock import utcnow
from mcm_circles.goals.errors import GoalNotFound
from mcm_circles.goals.models import Goal
from mcm_circles.goals.repository import GoalRepository
from mcm_circles.goals.schemas import Goal as GoalOut
from mcm_circles.goals.schemas import GoalCreate, GoalSummary, GoalUpdate, MemberGoals, check_period
from mcm_circles.permissions import load_access
from mcm_shared.errors import Forbidden, InvalidInput
from mcm_shared.security import Principal


def to_out(goal: Goal) -> GoalOut:
    return GoalOut(
        id=goal.id,
        circle_id=goal.circle_id,
        title=goal.title,
        period_start=goal.period_start,
        period_end=goal.period_end,
        done=goal.done_at is not None,
        done_at=goal.done_at,
        created_at=goal.created_at,
    )


def _rate(total: int, done: int) -> float | None:
    return round(done / total, 4) if total else None


async def create(session: AsyncSession, principal: Principal, circle_id: uuid.UUID, data: GoalCreate) -> GoalOut:
    user_id = actor_id(principal)
    access = (await load_access(session, principal, circle_id)).ensure_visible()
    if not access.is_member or access.membership is None:
        raise Forbidden("Only active members of this circle can set goals in it.")
    goal = Goal(
        id=uuid.uuid4(), circle_id=circle_id, user_id=user_id, membership_id=access.membership.id, **data.model_dump()
    )
    await GoalRepository(session).add(goal)
    result = to_out(goal)
    await session.commit()
    return result


async def mine(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, start: date | None, end: date | None
) -> list[GoalOut]:
    user_id = actor_id(principal)
    (await load_access(session, principal, circle_id)).ensure_visible()
    return [to_out(goal) for goal in await GoalRepository(session).mine(circle_id, user_id, start, end)]


async def _own(session: AsyncSession, principal: Principal, circle_id: uuid.UUID, goal_id: uuid.UUID) -> Goal:
    user_id = actor_id(principal)
    (await load_access(session, principal, circle_id)).ensure_visible()
    goal = await GoalRepository(session).get_own(circle_id, goal_id, user_id)
    if goal is None:
        raise GoalNotFound()
    return goal


async def update(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, goal_id: uuid.UUID, data: GoalUpdate
) -> GoalOut:
    goal = await _own(session, principal, circle_id, goal_id)
    changes = data.model_dump(exclude_unset=True)
    done = changes.pop("done", None)
    try:
        check_period(changes.get("period_start", goal.period_start), changes.get("period_end", goal.period_end))
    except ValueError as exc:
        raise InvalidInput(
            str(exc), errors=[{"loc": ["body", "period_end"], "msg": str(exc), "type": "value_error"}]
        ) from None
    for name, value in changes.items():
        setattr(goal, name, value)
    if done is True and goal.done_at is None:
        goal.done_at = utcnow()
    elif done is False:
        goal.done_at = None
    await session.flush()
    result = to_out(goal)
    await session.commit()
    return result


async def mark_done(session: AsyncSession, principal: Principal, circle_id: uuid.UUID, goal_id: uuid.UUID) -> GoalOut:
    return await update(session, principal, circle_id, goal_id, GoalUpdate(done=True))


async def delete(session: AsyncSession, principal: Principal, circle_id: uuid.UUID, goal_id: uuid.UUID) -> None:
    goal = await _own(session, principal, circle_id, goal_id)
    await GoalRepository(session).delete(goal)
    await session.commit()


async def summary(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, start: date | None, end: date | None
) -> GoalSummary:
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_private, "Only this circle's facilitators and staff can see goal completion.")
    rows = await GoalRepository(session).completion(circle_id, start, end)
    total, done = sum(r[2] for r in rows), sum(r[3] for r in rows)
    return GoalSummary(
        circle_id=circle_id,
        period_start=start,
        period_end=end,
        total=total,
        done=done,
        rate=_rate(total, done),
        members=[
            MemberGoals(user_id=uid, display_name=name, total=t, done=d, rate=_rate(t, d)) for uid, name, t, d in rows
        ],
    )


async def anonymise_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Erasure: his goal titles go; every goal row (and so every count) stays."""
    await GoalRepository(session).anonymise_user(user_id)
