"""Meeting use cases: list, schedule one, generate from the schedule, reschedule, cancel.

Changes take the circle's row lock, so two facilitators generating at once cannot add the same
occurrence twice (the partial unique index on (circle_id, starts_at) backs this up).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.circles.models import Circle
from mcm_circles.circles.service import meeting_place
from mcm_circles.clock import utcnow
from mcm_circles.integrity import maps_conflicts
from mcm_circles.meetings.errors import AttendanceRecorded, MeetingCancelled, MeetingClash, MeetingNotFound
from mcm_circles.meetings.models import Meeting
from mcm_circles.meetings.repository import MeetingRepository
from mcm_circles.meetings.schedule import occurrences
from mcm_circles.meetings.schemas import Meeting as MeetingOut
from mcm_circles.meetings.schemas import MeetingBatch, MeetingCancel, MeetingCreate, MeetingUpdate
from mcm_circles.memberships import lifecycle
from mcm_circles.outbox import publish
from mcm_circles.permissions import CircleAccess, load_access
from mcm_shared.pagination import Page, make_cursor, parse_datetime, read_cursor
from mcm_shared.security import Principal


def to_out(meeting: Meeting, circle: Circle) -> MeetingOut:
    local = meeting.starts_at.astimezone(ZoneInfo(circle.schedule_timezone))
    return MeetingOut(
        id=meeting.id,
        circle_id=meeting.circle_id,
        starts_at=meeting.starts_at,
        ends_at=meeting.starts_at + timedelta(minutes=meeting.duration_minutes),
        local_starts_at=local.isoformat(),
        timezone=circle.schedule_timezone,
        duration_minutes=meeting.duration_minutes,
        status=meeting.status,
        note=meeting.note,
        cancel_reason=meeting.cancel_reason,
        place=meeting_place(circle),
    )


MEETING_SCHEDULED = "meeting.scheduled"
MEETING_RESCHEDULED = "meeting.rescheduled"
MEETING_CANCELLED = "meeting.cancelled"


async def _tell_members(
    session: AsyncSession, access: CircleAccess, event_type: str, meetings: list[Meeting], **extra: Any
) -> None:
    """Publish what happened to the meetings; messaging tells the circle's members (all but the
    actor) and keeps its reminders' agenda from the same message."""
    await publish(
        session,
        event_type,
        {
            "circle_id": access.circle.id,
            "circle_name": access.circle.name,
            "timezone": access.circle.schedule_timezone,
            "actor_id": access.user_id,
            "meetings": [
                {"meeting_id": m.id, "starts_at": m.starts_at, "duration_minutes": m.duration_minutes} for m in meetings
            ],
            # Only its active members hear of it (through messaging), and they may know where it meets.
            **_where(access.circle),
            **extra,
        },
        key=access.circle.id,
    )


def _where(circle: Circle) -> dict[str, str]:
    where = {"address": circle.location_address, "video_url": circle.location_video_url}
    return {key: value for key, value in where.items() if value is not None}


guarded = maps_conflicts({"uq_meetings_scheduled_start": MeetingClash})


async def list_meetings(
    session: AsyncSession,
    principal: Principal,
    circle_id: uuid.UUID,
    *,
    start: datetime | None,
    end: datetime | None,
    status: str | None,
    limit: int,
    cursor: str | None,
) -> Page[MeetingOut]:
    access = await load_access(session, principal, circle_id)
    access.ensure(access.can_read_members, "Only members of this circle and staff can see its meetings.")
    after = read_cursor(cursor, "meetings", parse_datetime)
    rows = await MeetingRepository(session).page(
        circle_id, start=start, end=end, status=status, after=after, limit=limit
    )
    next_cursor = make_cursor("meetings", rows[limit - 1].starts_at, rows[limit - 1].id) if len(rows) > limit else None
    return Page[MeetingOut](items=[to_out(m, access.circle) for m in rows[:limit]], next_cursor=next_cursor)


@guarded
async def schedule(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, data: MeetingCreate
) -> MeetingBatch:
    actor = actor_id(principal)
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    circle = access.circle
    lifecycle.ensure_open(circle)
    repo = MeetingRepository(session)
    if data.starts_at is not None:
        starts = [data.starts_at.astimezone(UTC)]
        if await repo.scheduled_starts(circle_id, starts):
            raise MeetingClash()
    else:
        if data.count is None:  # MeetingCreate's validator: a count whenever no start is given
            raise RuntimeError("neither starts_at nor count")
        last = await repo.last_scheduled(circle_id)
        now = utcnow()
        after = max(now, last.starts_at) if last is not None else now
        starts = occurrences(
            weekday=circle.schedule_weekday,
            at=circle.schedule_time,
            timezone=circle.schedule_timezone,
            frequency=circle.schedule_frequency,
            after=after,
            count=data.count,
            anchor=last.starts_at if last is not None else None,
        )
    meetings = [
        Meeting(
            id=uuid.uuid4(),
            circle_id=circle_id,
            starts_at=start,
            duration_minutes=data.duration_minutes,
            status="scheduled",
            note=data.note,
            created_by=actor,
        )
        for start in starts
    ]
    await repo.add_all(meetings)
    future = [m for m in meetings if m.starts_at > utcnow()]
    if future:
        await _tell_members(session, access, MEETING_SCHEDULED, future)
    result = MeetingBatch(items=[to_out(m, circle) for m in meetings])
    await session.commit()
    return result


async def scheduled_meeting(session: AsyncSession, access: CircleAccess, meeting_id: uuid.UUID) -> Meeting:
    meeting = await MeetingRepository(session).get(access.circle.id, meeting_id, lock=True)
    if meeting is None:
        raise MeetingNotFound()
    if meeting.status != "scheduled":
        raise MeetingCancelled()
    return meeting


@guarded
async def reschedule(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, meeting_id: uuid.UUID, data: MeetingUpdate
) -> MeetingOut:
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    lifecycle.ensure_open(access.circle)
    meeting = await scheduled_meeting(session, access, meeting_id)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    moved = "starts_at" in changes and changes["starts_at"] != meeting.starts_at
    if moved:
        if await MeetingRepository(session).scheduled_starts(circle_id, [changes["starts_at"]]):
            raise MeetingClash()
        previous = meeting.starts_at
    for name, value in changes.items():
        setattr(meeting, name, value)
    await session.flush()
    if moved:
        await _tell_members(session, access, MEETING_RESCHEDULED, [meeting], previous_starts_at=previous)
    result = to_out(meeting, access.circle)
    await session.commit()
    return result


async def cancel(
    session: AsyncSession, principal: Principal, circle_id: uuid.UUID, meeting_id: uuid.UUID, data: MeetingCancel
) -> MeetingOut:
    access = (await load_access(session, principal, circle_id, lock=True)).ensure_manage()
    meeting = await scheduled_meeting(session, access, meeting_id)
    if await MeetingRepository(session).has_attendance(meeting.id):
        raise AttendanceRecorded()
    meeting.status, meeting.cancel_reason = "cancelled", data.reason
    await session.flush()
    await _tell_members(session, access, MEETING_CANCELLED, [meeting], reason=data.reason)
    result = to_out(meeting, access.circle)
    await session.commit()
    return result


async def cancel_future(session: AsyncSession, circle: Circle, reason: str) -> None:
    """Archiving a circle: its future meetings are called off (caller holds the circle lock)."""
    for meeting in await MeetingRepository(session).future_scheduled(circle.id, utcnow()):
        meeting.status, meeting.cancel_reason = "cancelled", reason
    await session.flush()


async def anonymise_user(session: AsyncSession, user_id: uuid.UUID) -> None:
    """Erasure: the private attendance notes about him go; every attendance row stays."""
    await MeetingRepository(session).anonymise_user(user_id)
