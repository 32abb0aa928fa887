"""SQL for meetings and attendance."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.meetings.models import Attendance, Meeting
from mcm_circles.memberships.models import Membership
from mcm_circles.profiles.models import ERASED_NAME, Profile


class MeetingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_all(self, meetings: list[Meeting]) -> None:
        self.session.add_all(meetings)
        await self.session.flush()

    async def get(self, circle_id: uuid.UUID, meeting_id: uuid.UUID, *, lock: bool = False) -> Meeting | None:
        stmt = (
            select(Meeting)
            .where(Meeting.id == meeting_id, Meeting.circle_id == circle_id)
            .execution_options(populate_existing=True)
        )
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def last_scheduled(self, circle_id: uuid.UUID) -> Meeting | None:
        stmt = (
            select(Meeting)
            .where(Meeting.circle_id == circle_id, Meeting.status == "scheduled")
            .order_by(Meeting.starts_at.desc())
            .limit(1)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def scheduled_starts(self, circle_id: uuid.UUID, starts: Iterable[datetime]) -> set[datetime]:
        wanted = list(starts)
        if not wanted:
            return set()
        stmt = select(Meeting.starts_at).where(
            Meeting.circle_id == circle_id, Meeting.status == "scheduled", Meeting.starts_at.in_(wanted)
        )
        return set((await self.session.execute(stmt)).scalars())

    async def page(
        self,
        circle_id: uuid.UUID,
        *,
        start: datetime | None,
        end: datetime | None,
        status: str | None,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[Meeting]:
        stmt = select(Meeting).where(Meeting.circle_id == circle_id)
        if start is not None:
            stmt = stmt.where(Meeting.starts_at >= start)
        if end is not None:
            stmt = stmt.where(Meeting.starts_at < end)
        if status is not None:
            stmt = stmt.where(Meeting.status == status)
        if after is not None:
            stmt = stmt.where(tuple_(Meeting.starts_at, Meeting.id) > tuple_(*after))
        stmt = stmt.order_by(Meeting.starts_at, Meeting.id).limit(limit + 1)
        return list((await self.session.execute(stmt)).scalars())

    async def future_scheduled(self, circle_id: uuid.UUID, now: datetime) -> list[Meeting]:
        stmt = (
            select(Meeting)
            .where(Meeting.circle_id == circle_id, Meeting.status == "scheduled", Meeting.starts_at > now)
            .execution_options(populate_existing=True)
        )
        return list((await self.session.execute(stmt)).scalars())

    # -- attendance -------------------------------------------------------------------------
    async def has_attendance(self, meeting_id: uuid.UUID) -> bool:
        stmt = select(func.count()).select_from(Attendance).where(Attendance.meeting_id == meeting_id)
        return bool((await self.session.execute(stmt)).scalar_one())

    async def memberships_during(
        self, meeting: Meeting, ends_at: datetime, user_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, Membership]:
        """Active memberships of these users, or ended ones that overlapped the meeting (a
        sheet may be completed after someone left)."""
        overlapped = and_(
            Membership.status == "ended", Membership.joined_at <= ends_at, Membership.ended_at >= meeting.starts_at
        )
        stmt = (
            select(Membership)
            .where(
                Membership.circle_id == meeting.circle_id,
                Membership.user_id.in_(user_ids),
                or_(Membership.status == "active", overlapped),
            )
            .order_by(Membership.joined_at)
        )
        return {m.user_id: m for m in (await self.session.execute(stmt)).scalars()}

    async def replace_sheet(self, meeting: Meeting, rows: list[dict[str, Any]]) -> None:
        stale = delete(Attendance).where(Attendance.meeting_id == meeting.id)
        if rows:
            stale = stale.where(Attendance.user_id.not_in([row["user_id"] for row in rows]))
        await self.session.execute(stale)
        if rows:
            stmt = insert(Attendance).values(rows)
            await self.session.execute(
                stmt.on_conflict_do_update(
                    constraint="pk_attendance",
                    set_={
                        "status": stmt.excluded.status,
                        "note": stmt.excluded.note,
                        "recorded_by": stmt.excluded.recorded_by,
                        "membership_id": stmt.excluded.membership_id,
                        "updated_at": func.now(),
                    },
                )
            )

    async def sheet(self, meeting_id: uuid.UUID) -> list[tuple[Attendance, str]]:
        stmt = (
            select(Attendance, Profile.display_name, Profile.erased_at)
            .join(Profile, Profile.user_id == Attendance.user_id)
            .where(Attendance.meeting_id == meeting_id)
            .order_by(Profile.display_name, Attendance.user_id)
            .execution_options(populate_existing=True)
        )
        return [(a, ERASED_NAME if erased else name) for a, name, erased in await self.session.execute(stmt)]

    async def history(self, circle_id: uuid.UUID, user_id: uuid.UUID) -> list[tuple[uuid.UUID, datetime, str]]:
        stmt = (
            select(Meeting.id, Meeting.starts_at, Attendance.status)
            .join(Attendance, Attendance.meeting_id == Meeting.id)
            .where(Attendance.circle_id == circle_id, Attendance.user_id == user_id)
            .order_by(Meeting.starts_at.desc())
            .limit(500)
        )
        return [(meeting_id, starts_at, status) for meeting_id, starts_at, status in await self.session.execute(stmt)]

    async def counts(self, circle_id: uuid.UUID) -> tuple[int, list[tuple[uuid.UUID, str, dict[str, int]]]]:
        """Meetings with attendance recorded, and per user the count of each status."""
        meetings = (
            await self.session.execute(
                select(func.count(func.distinct(Attendance.meeting_id))).where(Attendance.circle_id == circle_id)
            )
        ).scalar_one()
        stmt = (
            select(Attendance.user_id, Profile.display_name, Profile.erased_at, Attendance.status, func.count())
            .join(Profile, Profile.user_id == Attendance.user_id)
            .where(Attendance.circle_id == circle_id)
            .group_by(Attendance.user_id, Profile.display_name, Profile.erased_at, Attendance.status)
        )
        per_user: dict[uuid.UUID, tuple[str, dict[str, int]]] = {}
        for user_id, name, erased, status, count in await self.session.execute(stmt):
            entry = per_user.setdefault(user_id, (ERASED_NAME if erased else name, {}))
            entry[1][status] = count
        rows = sorted(((uid, name, c) for uid, (name, c) in per_user.items()), key=lambda row: (row[1], str(row[0])))
        return int(meetings), rows

    async def anonymise_user(self, user_id: uuid.UUID) -> None:
        """Erasure: private notes about him go; the records (and rates) stay."""
        await self.session.execute(
            update(Attendance)
            .where(and_(Attendance.user_id == user_id, Attendance.note.is_not(None)))
            .values(note=None)
        )
