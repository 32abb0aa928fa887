"""Attendance: facilitators record it per meeting; members see their own; rates for reports.

Rate = (present + late) / (present + late + absent); excused absences count neither way.
Private notes are shown only to the circle's facilitators and staff.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.clock import utcnow
from mcm_circles.meetings.errors import MeetingNotFound, MeetingNotStarted, NotInCircle
from mcm_circles.meetings.repository import MeetingRepository
from mcm_circles.meetings.schemas import (
    AttendanceRecord,
    AttendanceSheet,
    AttendanceSheetIn,
    AttendanceSummary,
    MemberAttendance,
    MyAttendance,
    MyAttendanceHistory,
)
from mcm_circles.meetings.service import scheduled_meeting
from mcm_circles.permissions import load_access
from mcm_shared.security import Principal


def rate(counts: dict[str, int]) -> float | None:
    attended = counts.get("present", 0) + counts.get("late", 0)
    expected = attended + counts.get("absent", 0)
    return round(attended / expected, 4) if expected else None


async def _sheet(repo: MeetingRepository, meeting_id: uuid.UUID) -> AttendanceSheet:
    rows = await repo.sheet(meeting_id)
    return AttendanceSheet(
        meeting_id=meeting_id,
        records=[
            AttendanceRecord(user_id=a.user_id, display_name=name, status=a.status, note=a.note) for a, name in rows
        ],
    )


async def record(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, meeting_id: uuid.UUID, data: AttendanceSheetIn
) -> AttendanceSheet:
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id)).ensure_manage()
    meeting = await scheduled_meeting(session, access, meeting_id)  # row lock: one sheet writer at a time
    if meeting.starts_at > utcnow():
        raise MeetingNotStarted()
    user_ids = [entry.user_id for entry in data.records]
    duplicates = {uid for uid in user_ids if user_ids.count(uid) > 1}
    if duplicates:
        raise NotInCircle(
            "Each member appears once on the sheet.",
            errors=[
                {"loc": ["body", "records", i, "user_id"], "msg": "duplicate", "type": "duplicate"}
                for i, e in enumerate(data.records)
                if e.user_id in duplicates
            ],
        )
    repo = MeetingRepository(session)
    ends_at = meeting.starts_at + timedelta(minutes=meeting.duration_minutes)
    memberships = await repo.memberships_during(meeting, ends_at, user_ids) if user_ids else {}
    strangers = [i for i, e in enumerate(data.records) if e.user_id not in memberships]
    if strangers:
        raise NotInCircle(
            "Attendance is recorded only for members of the circle (current, or at the time of the meeting).",
            errors=[
                {"loc": ["body", "records", i, "user_id"], "msg": "not a member of this circle", "type": "membership"}
                for i in strangers
            ],
        )
    rows = [
        {
            "meeting_id": meeting.id,
            "user_id": e.user_id,
            "circle_id": circle_id,
            "membership_id": memberships[e.user_id].id,
            "status": e.status,
            "note": e.note,
            "recorded_by": actor,
        }
        for e in data.records
    ]
    await repo.replace_sheet(meeting, rows)
    result = await _sheet(repo, meeting.id)
    await session.commit()
    return result


async def read_sheet(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, meeting_id: uuid.UUID
) -> AttendanceSheet:
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_private, "Only this circle's facilitators and staff can see attendance sheets.")
    repo = MeetingRepository(session)
    if await repo.get(circle_id, meeting_id) is None:
        raise MeetingNotFound()
    return await _sheet(repo, meeting_id)


async def my_history(session: AsyncSession, principal: Principal, circle_id: uuid.UUID) -> MyAttendanceHistory:
    user_id = actor_id(principal)
    (await load_access(session, principal, circle_id)).ensure_visible()
    rows = await MeetingRepository(session).history(circle_id, user_id)
    counts: dict[str, int] = {}
    for _, _, status in rows:
        counts[status] = counts.get(status, 0) + 1
    return MyAttendanceHistory(
        items=[MyAttendance(meeting_id=mid, starts_at=starts, status=status) for mid, starts, status in rows],
        rate=rate(counts),
    )


async def summary(session: AsyncSession, principal: Principal, circle_id: uuid.UUID) -> AttendanceSummary:
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_private, "Only this circle's facilitators and staff can see attendance reports.")
    meetings, rows = await MeetingRepository(session).counts(circle_id)
    total: dict[str, int] = {}
    members = []
    for user_id, name, counts in rows:
        for status, count in counts.items():
            total[status] = total.get(status, 0) + count
        members.append(
            MemberAttendance(
                user_id=user_id,
                display_name=name,
                present=counts.get("present", 0),
                late=counts.get("late", 0),
                excused=counts.get("excused", 0),
                absent=counts.get("absent", 0),
                rate=rate(counts),
            )
        )
    return AttendanceSummary(circle_id=circle_id, meetings_recorded=meetings, rate=rate(total), members=members)
