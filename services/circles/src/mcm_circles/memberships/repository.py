"""SQL for memberships."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.models import Circle
from mcm_circles.memberships.models import CURRENT, Membership
from mcm_circles.profiles.models import ERASED_NAME, Profile

Named = tuple[Membership, str]


def _name(display_name: str, erased_at: datetime | None) -> str:
    return ERASED_NAME if erased_at is not None else display_name


class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, membership: Membership) -> Membership:
        self.session.add(membership)
        await self.session.flush()
        return membership

    async def get(self, membership_id: uuid.UUID, *, lock: bool = False) -> Membership | None:
        stmt = select(Membership).where(Membership.id == membership_id).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current(
        self, circle_id: uuid.UUID, user_id: uuid.UUID, *, statuses: Iterable[str] = CURRENT
    ) -> Membership | None:
        stmt = (
            select(Membership)
            .where(
                Membership.circle_id == circle_id, Membership.user_id == user_id, Membership.status.in_(tuple(statuses))
            )
            .execution_options(populate_existing=True)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def current_for_user(self, user_id: uuid.UUID) -> list[Membership]:
        stmt = (
            select(Membership)
            .where(Membership.user_id == user_id, Membership.status.in_(CURRENT))
            .order_by(Membership.circle_id)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def current_in_circle(self, circle_id: uuid.UUID) -> list[Membership]:
        stmt = (
            select(Membership)
            .where(Membership.circle_id == circle_id, Membership.status.in_(CURRENT))
            .order_by(Membership.created_at, Membership.id)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    async def active_user_ids(self, circle_id: uuid.UUID, *, role: str | None = None) -> list[uuid.UUID]:
        stmt = select(Membership.user_id).where(Membership.circle_id == circle_id, Membership.status == "active")
        if role:
            stmt = stmt.where(Membership.role == role)
        return list((await self.session.execute(stmt.order_by(Membership.user_id))).scalars())

    async def named_page(
        self, circle_id: uuid.UUID, statuses: tuple[str, ...], after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[Named]:
        stmt = (
            select(Membership, Profile.display_name, Profile.erased_at)
            .join(Profile, Profile.user_id == Membership.user_id)
            .where(Membership.circle_id == circle_id, Membership.status.in_(statuses))
        )
        if after is not None:
            stmt = stmt.where(tuple_(Membership.created_at, Membership.id) > tuple_(*after))
        stmt = stmt.order_by(Membership.created_at, Membership.id).limit(limit + 1)
        return [(m, _name(name, erased)) for m, name, erased in await self.session.execute(stmt)]

    async def named(self, membership: Membership) -> Named:
        row = (
            await self.session.execute(
                select(Profile.display_name, Profile.erased_at).where(Profile.user_id == membership.user_id)
            )
        ).one()
        return membership, _name(row[0], row[1])

    async def flagged_page(
        self, circle_ids: list[uuid.UUID] | None, after: tuple[datetime, uuid.UUID] | None, limit: int
    ) -> list[tuple[Membership, str, str]]:
        """Active memberships flagged for overdue dues, oldest flag first; None = every circle."""
        stmt = (
            select(Membership, Profile.display_name, Profile.erased_at, Circle.name)
            .join(Profile, Profile.user_id == Membership.user_id)
            .join(Circle, Circle.id == Membership.circle_id)
            .where(Membership.flagged_at.is_not(None), Membership.status == "active")
        )
        if circle_ids is not None:
            stmt = stmt.where(Membership.circle_id.in_(circle_ids))
        if after is not None:
            stmt = stmt.where(tuple_(Membership.flagged_at, Membership.id) > tuple_(*after))
        stmt = stmt.order_by(Membership.flagged_at, Membership.id).limit(limit + 1)
        return [(m, _name(name, erased), circle) for m, name, erased, circle in await self.session.execute(stmt)]

    async def facilitated_circle_ids(self, user_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(Membership.circle_id).where(
            Membership.user_id == user_id, Membership.role == "facilitator", Membership.status == "active"
        )
        return list((await self.session.execute(stmt)).scalars())

    async def circle_open(self, circle_id: uuid.UUID) -> bool:
        """The circle exists and is not archived (a plain read, no lock)."""
        stmt = select(Circle.id).where(Circle.id == circle_id, Circle.archived_at.is_(None))
        return (await self.session.execute(stmt)).first() is not None

    async def count_active_facilitators(self, circle_id: uuid.UUID) -> int:
        stmt = select(func.count()).where(
            Membership.circle_id == circle_id, Membership.role == "facilitator", Membership.status == "active"
        )
        return int((await self.session.execute(stmt)).scalar_one())

    async def mine(self, user_id: uuid.UUID, statuses: tuple[str, ...]) -> list[tuple[Membership, Circle]]:
        stmt = (
            select(Membership, Circle)
            .join(Circle, Circle.id == Membership.circle_id)
            .where(Membership.user_id == user_id, Membership.status.in_(statuses))
            .order_by(Membership.created_at.desc(), Membership.id)
            .limit(200)
        )
        return [(m, circle) for m, circle in await self.session.execute(stmt)]
