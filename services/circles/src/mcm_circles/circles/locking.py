"""The circle row as other packages reach it: the row lock every membership change happens
under, and the circle read together with one person's current membership.

Service-level functions of the circles package, apart from `circles.service` (which builds on
memberships and permissions), so that memberships, permissions and transfers read circles'
rows through circles' own functions, never through its repository (services/circles/importlinter.ini).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.models import Circle
from mcm_circles.circles.repository import CircleRepository
from mcm_circles.memberships.models import Membership


async def get_with_membership(
    session: AsyncSession, circle_id: uuid.UUID, user_id: uuid.UUID | None, *, lock: bool = False
) -> tuple[Circle, Membership | None] | None:
    """The circle and the user's current membership in it; `lock` takes the circle's row lock."""
    return await CircleRepository(session).get_with_membership(circle_id, user_id, lock=lock)


async def lock_many(session: AsyncSession, circle_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Circle]:
    """Lock several circles' rows in id order (one order everywhere: no deadlock)."""
    return await CircleRepository(session).lock_many(circle_ids)
