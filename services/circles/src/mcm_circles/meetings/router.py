"""HTTP for meetings and attendance."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, status
from pydantic import AwareDatetime

from mcm_circles.deps import DEFAULT_PAGE, CircleID, Cursor, Limit, MeetingID
from mcm_circles.meetings import attendance, service
from mcm_circles.meetings.schemas import (
    AttendanceSheet,
    AttendanceSheetIn,
    AttendanceSummary,
    Meeting,
    MeetingBatch,
    MeetingCancel,
    MeetingCreate,
    MeetingUpdate,
    MyAttendanceHistory,
)
from mcm_shared.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated, problem_responses
from mcm_shared.pagination import Page
from mcm_shared.security import CurrentPrincipal
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/circles/{circle_id}", tags=["meetings"])

READ = problem_responses(Unauthenticated, Forbidden, NotFound, InvalidInput)
WRITE = problem_responses(Unauthenticated, Forbidden, NotFound, Conflict, InvalidInput)


@router.get("/meetings", response_model=Page[Meeting], responses=READ)
async def list_meetings(
    circle_id: CircleID,
    session: SessionDep,
    principal: CurrentPrincipal,
    start: Annotated[AwareDatetime | None, Query(alias="from")] = None,
    end: Annotated[AwareDatetime | None, Query(alias="to")] = None,
    meeting_status: Annotated[Literal["scheduled", "cancelled"] | None, Query(alias="status")] = None,
    limit: Limit = DEFAULT_PAGE,
    cursor: Cursor = None,
) -> Page[Meeting]:
    """Meetings in start order; `from`/`to` bound the start time (UTC instants with offset)."""
    return await service.list_meetings(
        session, principal, circle_id, start=start, end=end, status=meeting_status, limit=limit, cursor=cursor
    )


@router.post("/meetings", status_code=status.HTTP_201_CREATED, response_model=MeetingBatch, responses=WRITE)
async def schedule_meetings(
    circle_id: CircleID, data: MeetingCreate, session: SessionDep, principal: CurrentPrincipal
) -> MeetingBatch:
    """Schedule one meeting (`starts_at`) or the next `count` from the circle's schedule."""
    return await service.schedule(session, principal, circle_id, data)


@router.patch("/meetings/{meeting_id}", response_model=Meeting, responses=WRITE)
async def reschedule_meeting(
    circle_id: CircleID, meeting_id: MeetingID, data: MeetingUpdate, session: SessionDep, principal: CurrentPrincipal
) -> Meeting:
    return await service.reschedule(session, principal, circle_id, meeting_id, data)


@router.post("/meetings/{meeting_id}/cancel", response_model=Meeting, responses=WRITE)
async def cancel_meeting(
    circle_id: CircleID,
    meeting_id: MeetingID,
    session: SessionDep,
    principal: CurrentPrincipal,
    data: Annotated[MeetingCancel | None, Body()] = None,
) -> Meeting:
    return await service.cancel(session, principal, circle_id, meeting_id, data or MeetingCancel())


@router.put("/meetings/{meeting_id}/attendance", response_model=AttendanceSheet, responses=WRITE)
async def record_attendance(
    circle_id: CircleID,
    meeting_id: MeetingID,
    data: AttendanceSheetIn,
    session: SessionDep,
    principal: CurrentPrincipal,
) -> AttendanceSheet:
    """Replace the meeting's attendance sheet (facilitators and admins)."""
    return await attendance.record(session, principal, circle_id, meeting_id, data)


@router.get("/meetings/{meeting_id}/attendance", response_model=AttendanceSheet, responses=READ)
async def read_attendance(
    circle_id: CircleID, meeting_id: MeetingID, session: SessionDep, principal: CurrentPrincipal
) -> AttendanceSheet:
    """The sheet with private notes (facilitators and staff)."""
    return await attendance.read_sheet(session, principal, circle_id, meeting_id)


@router.get("/attendance", response_model=AttendanceSummary, responses=READ)
async def attendance_summary(
    circle_id: CircleID, session: SessionDep, principal: CurrentPrincipal
) -> AttendanceSummary:
    """Attendance rate of the circle and of each member (facilitators and staff)."""
    return await attendance.summary(session, principal, circle_id)


@router.get("/attendance/me", response_model=MyAttendanceHistory, responses=READ)
async def my_attendance(circle_id: CircleID, session: SessionDep, principal: CurrentPrincipal) -> MyAttendanceHistory:
    """The caller's own attendance in this circle, without notes."""
    return await attendance.my_history(session, principal, circle_id)
