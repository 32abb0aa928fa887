"""The reports' answers. Rates are fractions (0..1, four decimals), null when nothing was counted."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from mcm_shared.reports import Freshness


class ReportBase(BaseModel):
    """What every report answers besides its tables (documents the JSON the database renders)."""

    model_config = ConfigDict(populate_by_name=True)

    report: str
    # The period: whole UTC months, `from` inclusive, `to` exclusive.
    from_: date = Field(alias="from")
    to: date
    freshness: Freshness


class RetentionCircle(BaseModel):
    circle_id: uuid.UUID
    circle_name: str
    members_at_start: int
    joined: int
    left: int
    members_at_end: int
    retained: int = Field(description="Members at the start still members at the end (same membership)")
    retention_rate: float | None = Field(description="retained / members_at_start")


class RetentionMonth(BaseModel):
    month: str = Field(description="YYYY-MM (UTC)")
    members_at_start: int
    joined: int
    left: int
    members_at_end: int
    retained: int
    retention_rate: float | None


class RetentionReport(ReportBase):
    circles: list[RetentionCircle]
    months: list[RetentionMonth]


class AttendanceMonth(BaseModel):
    month: str = Field(description="YYYY-MM (UTC), of the meeting's start")
    marked: int
    present: int
    late: int
    excused: int
    absent: int
    attendance_rate: float | None = Field(description="(present + late) / marked")


class AttendanceCircle(BaseModel):
    circle_id: uuid.UUID
    circle_name: str
    marked: int
    present: int
    late: int
    excused: int
    absent: int
    attendance_rate: float | None


class AttendanceReport(ReportBase):
    months: list[AttendanceMonth]
    circles: list[AttendanceCircle]


class GoalsMonth(BaseModel):
    month: str = Field(description="YYYY-MM, of the goal's target date (period_end)")
    goals_set: int
    completed: int
    completion_rate: float | None = Field(description="completed / goals_set")


class GoalsCircle(BaseModel):
    circle_id: uuid.UUID
    circle_name: str
    goals_set: int
    completed: int
    completion_rate: float | None


class GoalsReport(ReportBase):
    months: list[GoalsMonth]
    circles: list[GoalsCircle]


class EventFill(BaseModel):
    event_id: uuid.UUID
    title: str
    starts_at: datetime
    month: str = Field(description="YYYY-MM (UTC), of the event's start")
    capacity: int
    confirmed: int
    fill_rate: float | None = Field(description="confirmed / capacity")
    waitlisted: int = Field(description="Registrations that were ever on the waitlist")
    converted: int = Field(description="Of those, promoted to a seat and confirmed")
    conversion_rate: float | None = Field(description="converted / waitlisted")


class EventsMonth(BaseModel):
    month: str
    events: int
    capacity: int
    confirmed: int
    fill_rate: float | None
    waitlisted: int
    converted: int
    conversion_rate: float | None


class EventsReport(ReportBase):
    events: list[EventFill]
    months: list[EventsMonth]
