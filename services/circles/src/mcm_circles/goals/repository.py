"""SQL for goals."""

from __future__ import annotations

import uuid
from datetime import date
from typing import TypeVarTuple

from sqlalchemy import Select, case, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.goals.models import Goal
from mcm_circles.profiles.models import ERASED_NAME, Profile

Columns = TypeVarTuple("Columns")

ERASED_TITLE = "(erased)"


class GoalRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, goal: Goal) -> Goal:
        self.session.add(goal)
        await self.session.flush()
        return goal

    async def get_own(self, circle_id: uuid.UUID, goal_id: uuid.UUID, user_id: uuid.UUID) -> Goal | None:
        stmt = (
            select(Goal)
            .where(Goal.id == goal_id, Goal.circle_id == circle_id, Goal.user_id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def delete(self, goal: Goal) -> None:
        await self.session.delete(goal)
        await self.session.flush()

    def _overlapping(self, stmt: Select[*Columns], start: date | None, end: date | None) -> Select[*Columns]:
        if start is not None:
            stmt = stmt.where(Goal.period_end >= start)
        if end is not None:
            stmt = stmt.where(Goal.period_start <= end)
        return stmt

    async def mine(self, circle_id: uuid.UUID, user_id: uuid.UUID, start: date | None, end: date | None) -> list[Goal]:
        stmt = select(Goal).where(Goal.circle_id == circle_id, Goal.user_id == user_id)
        stmt = self._overlapping(stmt, start, end).order_by(Goal.period_start.desc(), Goal.created_at).limit(500)
        return list((await self.session.execute(stmt)).scalars())

    async def completion(
        self, circle_id: uuid.UUID, start: date | None, end: date | None
    ) -> list[tuple[uuid.UUID, str, int, int]]:
        done = func.sum(case((Goal.done_at.is_not(None), 1), else_=0))
        stmt = (
            select(Goal.user_id, Profile.display_name, Profile.erased_at, func.count(), done)
            .join(Profile, Profile.user_id == Goal.user_id)
            .where(Goal.circle_id == circle_id)
            .group_by(Goal.user_id, Profile.display_name, Profile.erased_at)
        )
        rows = await self.session.execute(self._overlapping(stmt, start, end))
        result = [
            (uid, ERASED_NAME if erased else name, int(total), int(done or 0))
            for uid, name, erased, total, done in rows
        ]
        return sorted(result, key=lambda row: (row[1], str(row[0])))

    async def anonymise_user(self, user_id: uuid.UUID) -> None:
        """Erasure: the words go, the counts stay."""
        await self.session.execute(update(Goal).where(Goal.user_id == user_id).values(title=ERASED_TITLE))
