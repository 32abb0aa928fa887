"""Pydantic schemas for meetings and attendance."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AwareDatetime, Field, model_validator

from mcm_circles.circles.schemas import MeetingPlace
from mcm_circles.schemas_common import PRINTABLE, Input, Output, bounded

Note = Annotated[str, bounded(1000), PRINTABLE]
Reason = Annotated[str, bounded(500), PRINTABLE]
PrivateNote = Annotated[str, bounded(2000), PRINTABLE]
Duration = Field(120, ge=15, le=720, description="Minutes")
AttendanceStatus = Literal["present", "late", "excused", "absent"]


def _plausible(value: AwareDatetime | None) -> AwareDatetime | None:
    # Far-off years overflow when converted to the circle's zone (year 1, year 9999).
    if value is not None and not 1970 <= value.year <= 2200:
        raise ValueError("a meeting must start between 1970 and 2200")
    return value


MeetingStart = Annotated[AwareDatetime | None, AfterValidator(_plausible)]


class MeetingCreate(Input):
    """Either one meeting at `starts_at`, or the next `count` meetings from the circle's schedule."""

    starts_at: MeetingStart = None
    count: int | None = Field(None, ge=1, le=26)
    duration_minutes: int = Duration
    note: Note = ""

    @model_validator(mode="after")
    def _one_way(self) -> MeetingCreate:
        if (self.starts_at is None) == (self.count is None):
            raise ValueError("give either starts_at (one meeting) or count (generate from the schedule)")
        return self


class MeetingUpdate(Input):
    """Reschedule: a new start and/or duration, or a new note."""

    starts_at: MeetingStart = None
    duration_minutes: int | None = Field(None, ge=15, le=720)
    note: Note | None = None


class MeetingCancel(Input):
    reason: Reason | None = None


class Meeting(Output):
    id: uuid.UUID
    circle_id: uuid.UUID
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime
    local_starts_at: str = Field(description="Start in the circle's time zone, ISO 8601 with offset")
    timezone: str
    duration_minutes: int
    status: Literal["scheduled", "cancelled"]
    note: str
    cancel_reason: str | None
    place: MeetingPlace = Field(
        description="Where it meets (address, video-call link); meetings are shown to members and staff only"
    )


class MeetingBatch(Output):
    items: list[Meeting]


class AttendanceEntry(Input):
    user_id: uuid.UUID
    status: AttendanceStatus
    note: PrivateNote | None = None


class AttendanceSheetIn(Input):
    """The whole sheet: members not listed have no record for this meeting."""

    records: list[AttendanceEntry] = Field(max_length=50)


class AttendanceRecord(Output):
    user_id: uuid.UUID
    display_name: str
    status: AttendanceStatus
    note: str | None


class AttendanceSheet(Output):
    meeting_id: uuid.UUID
    records: list[AttendanceRecord]


class MyAttendance(Output):
    meeting_id: uuid.UUID
    starts_at: datetime
    status: AttendanceStatus


class MyAttendanceHistory(Output):
    items: list[MyAttendance]
    rate: float | None = Field(description="(present + late) / (present + late + absent); excused not counted")


class MemberAttendance(Output):
    user_id: uuid.UUID
    display_name: str
    present: int
    late: int
    excused: int
    absent: int
    rate: float | None


class AttendanceSummary(Output):
    circle_id: uuid.UUID
    meetings_recorded: int
    rate: float | None
    members: list[MemberAttendance]
