"""SQL for circles: loading with the caller's membership, row locks, and the filtered list."""

from __future__ import annotations

import builtins
import uuid
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, exists, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.models import Circle
from mcm_circles.memberships.models import CURRENT, Membership
from mcm_circles.profiles.models import ERASED_NAME, Profile

SORT_COLUMNS = {"name": Circle.name, "created_at": Circle.created_at, "open_seats": Circle.open_seats}


def _like_pattern(text: str) -> str:
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class CircleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, circle: Circle) -> Circle:
        self.session.add(circle)
        await self.session.flush()
        return circle

    async def get_with_membership(
        self, circle_id: uuid.UUID, user_id: uuid.UUID | None, *, lock: bool = False
    ) -> tuple[Circle, Membership | None] | None:
        """The circle and the user's current membership in it, in one statement.

        `lock` takes the circle's row lock (FOR UPDATE): every change of membership counts,
        capacity or status of a circle happens under it, so concurrent joins queue here.
        """
        if lock:
            # Lock first, then read the membership in a second statement: under READ COMMITTED
            # that statement sees whatever the transaction we queued behind has committed.
            circle = (
                await self.session.execute(
                    select(Circle)
                    .where(Circle.id == circle_id)
                    .with_for_update()
                    .execution_options(populate_existing=True)
                )
            ).scalar_one_or_none()
            if circle is None:
                return None
            membership = None
            if user_id is not None:
                membership = (
                    await self.session.execute(
                        select(Membership)
                        .where(
                            Membership.circle_id == circle_id,
                            Membership.user_id == user_id,
                            Membership.status.in_(CURRENT),
                        )
                        .execution_options(populate_existing=True)
                    )
                ).scalar_one_or_none()
            return circle, membership
        stmt = (
            select(Circle, Membership)
            .outerjoin(
                Membership,
                and_(Membership.circle_id == Circle.id, Membership.user_id == user_id, Membership.status.in_(CURRENT)),
            )
            .where(Circle.id == circle_id)
            .execution_options(populate_existing=True)
        )
        row = (await self.session.execute(stmt)).first()
        return (row[0], row[1]) if row else None

    async def lock_many(self, circle_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Circle]:
        """Lock several circles in id order: one order everywhere means no deadlock."""
        ids = sorted(set(circle_ids))
        stmt = (
            select(Circle)
            .where(Circle.id.in_(ids))
            .order_by(Circle.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return {circle.id: circle for circle in (await self.session.execute(stmt)).scalars()}

    async def list(
        self,
        *,
        viewer_id: uuid.UUID | None,
        see_private: bool,
        filters: dict[str, Any],
        sort: str,
        after: tuple[Any, uuid.UUID] | None,
        limit: int,
    ) -> list[Circle]:
        stmt = select(Circle)
        if not see_private:
            own = exists().where(
                Membership.circle_id == Circle.id, Membership.user_id == viewer_id, Membership.status.in_(CURRENT)
            )
            stmt = stmt.where(or_(Circle.visibility == "public", own))
        status = filters.get("status")
        stmt = stmt.where(Circle.status == status if status else Circle.status != "archived")
        if filters.get("q"):
            stmt = stmt.where(Circle.search_text.like(_like_pattern(filters["q"]), escape="\\"))
        if filters.get("city"):
            stmt = stmt.where(func.lower(Circle.location_city) == filters["city"].lower())
        if filters.get("online") is not None:
            stmt = stmt.where(Circle.location_online.is_(filters["online"]))
        if filters.get("weekday"):
            stmt = stmt.where(Circle.schedule_weekday == filters["weekday"])
        if filters.get("has_open_seats") is not None:
            stmt = stmt.where(Circle.open_seats > 0 if filters["has_open_seats"] else Circle.open_seats <= 0)
        if filters.get("facilitator"):
            stmt = stmt.where(
                exists().where(
                    Membership.circle_id == Circle.id,
                    Membership.user_id == filters["facilitator"],
                    Membership.role == "facilitator",
                    Membership.status == "active",
                )
            )
        descending = sort.startswith("-")
        column = SORT_COLUMNS[sort.lstrip("-")]
        if after is not None:
            key, value = tuple_(column, Circle.id), tuple_(*after)
            stmt = stmt.where(key < value if descending else key > value)
        order = (column.desc(), Circle.id.desc()) if descending else (column.asc(), Circle.id.asc())
        stmt = stmt.order_by(*order).limit(limit + 1)
        return list((await self.session.execute(stmt)).scalars())

    async def private_circles_of(self, user_id: uuid.UUID) -> tuple[uuid.UUID, ...]:
        """Private circles the user currently belongs to (pending or active), in id order."""
        rows = await self.session.execute(
            select(Circle.id)
            .join(Membership, Membership.circle_id == Circle.id)
            .where(Membership.user_id == user_id, Membership.status.in_(CURRENT), Circle.visibility == "private")
            .order_by(Circle.id)
        )
        return tuple(rows.scalars())

    async def facilitators(
        self, circle_ids: Iterable[uuid.UUID]
    ) -> dict[uuid.UUID, builtins.list[tuple[uuid.UUID, str]]]:
        """Active facilitators of many circles in one statement (no query per circle)."""
        ids = list(set(circle_ids))
        result: dict[uuid.UUID, builtins.list[tuple[uuid.UUID, str]]] = defaultdict(builtins.list)
        if not ids:
            return result
        rows = await self.session.execute(
            select(Membership.circle_id, Membership.user_id, Profile.display_name, Profile.erased_at)
            .join(Profile, Profile.user_id == Membership.user_id)
            .where(Membership.circle_id.in_(ids), Membership.role == "facilitator", Membership.status == "active")
            .order_by(Membership.circle_id, Membership.joined_at, Membership.user_id)
        )
        for circle_id, user_id, name, erased_at in rows:
            result[circle_id].append((user_id, ERASED_NAME if erased_at else name))
        return result

    async def by_import_keys(self, keys: Iterable[str]) -> dict[str, Circle]:
        wanted = builtins.list(set(keys))
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Circle).where(Circle.import_key.in_(wanted)))
        return {circle.import_key: circle for circle in rows if circle.import_key is not None}
