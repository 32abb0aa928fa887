"""What the events context reads from the rest of the circles service: member profiles,
memberships and meeting attendance. Read-only, and the only module here that knows those tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import BindParameter, ScalarSelect, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.circles.models import Circle
from mcm_circles.meetings.models import Attendance, Meeting
from mcm_circles.memberships.models import Membership
from mcm_circles.profiles.models import ERASED_NAME, PLACEHOLDER_NAME, Profile

ATTENDED = ("present", "late")


@dataclass(frozen=True, slots=True)
class MemberFacts:
    display_name: str
    email_verified: bool
    phone_verified: bool


class MemberDirectory:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def profile(self, user_id: UUID) -> MemberFacts | None:
        row = await self.session.get(Profile, user_id)
        if row is None or row.erased_at is not None:
            return None
        return MemberFacts(row.display_name, bool(row.verified_email), bool(row.verified_phone))

    async def exists(self, user_id: UUID) -> bool:
        found = await self.session.scalar(
            select(Profile.user_id).where(Profile.user_id == user_id, Profile.erased_at.is_(None))
        )
        return found is not None

    async def display_names(self, user_ids: Iterable[UUID | None]) -> dict[UUID, str]:
        wanted = {user_id for user_id in user_ids if user_id is not None}
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(Profile.user_id, Profile.display_name, Profile.erased_at).where(Profile.user_id.in_(wanted))
        )
        names = {user_id: (ERASED_NAME if erased else name) for user_id, name, erased in rows}
        return {user_id: names.get(user_id, PLACEHOLDER_NAME) for user_id in wanted}

    async def circle_roles(self, user_id: UUID) -> tuple[set[UUID], set[UUID]]:
        """(circles he is an active member of, circles he actively facilitates)."""
        rows = await self.session.execute(
            select(Membership.circle_id, Membership.role).where(
                Membership.user_id == user_id, Membership.status == "active"
            )
        )
        member_of: set[UUID] = set()
        facilitating: set[UUID] = set()
        for circle_id, role in rows:
            member_of.add(circle_id)
            if role == "facilitator":
                facilitating.add(circle_id)
        return member_of, facilitating

    @staticmethod
    def circle_roles_columns(
        user_id: UUID | BindParameter[UUID],
    ) -> tuple[ScalarSelect[list[UUID] | None], ScalarSelect[list[UUID] | None]]:
        """`circle_roles` as two array subqueries (member of, facilitating), for a caller that
        reads them in the same statement as other facts (the registration hot path)."""
        active = (Membership.user_id == user_id, Membership.status == "active")
        member_of = select(func.array_agg(Membership.circle_id)).where(*active).scalar_subquery()
        facilitating = (
            select(func.array_agg(Membership.circle_id))
            .where(*active, Membership.role == "facilitator")
            .scalar_subquery()
        )
        return member_of, facilitating

    async def member_circle_ids(self, user_id: UUID) -> set[UUID]:
        """Circles the person is an active member or facilitator of."""
        rows = await self.session.scalars(
            select(Membership.circle_id).where(Membership.user_id == user_id, Membership.status == "active")
        )
        return set(rows)

    async def meetings_attended(self, user_id: UUID, circle_id: UUID | None = None) -> int:
        query = (
            select(func.count())
            .select_from(Attendance)
            .join(Meeting, Meeting.id == Attendance.meeting_id)
            .where(Attendance.user_id == user_id, Attendance.status.in_(ATTENDED), Meeting.status == "scheduled")
        )
        if circle_id is not None:
            query = query.where(Attendance.circle_id == circle_id)
        return int(await self.session.scalar(query) or 0)

    async def existing_circles(self, circle_ids: Iterable[UUID]) -> set[UUID]:
        wanted = set(circle_ids)
        if not wanted:
            return set()
        rows = await self.session.scalars(select(Circle.id).where(Circle.id.in_(wanted), Circle.archived_at.is_(None)))
        return set(rows)
