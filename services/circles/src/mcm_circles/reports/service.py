"""The reports circles serves: each reads its views for the period and states their freshness."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.db import SCHEMA
from mcm_circles.reports import repository as sql
from mcm_circles.reports.repository import ReportRepository
from mcm_circles.reports.schemas import (
    AttendanceCircle,
    AttendanceMonth,
    AttendanceReport,
    EventFill,
    EventsMonth,
    EventsReport,
    GoalsCircle,
    GoalsMonth,
    GoalsReport,
    RetentionCircle,
    RetentionMonth,
    RetentionReport,
)
from mcm_shared.reports import Freshness, Period, freshness_of

Row = TypeVar("Row", bound=BaseModel)


async def _table(session: AsyncSession, model: type[Row], query: str, period: Period) -> list[Row]:
    rows = await ReportRepository(session).rows(query, period.start, period.end)
    return [model.model_validate(row) for row in rows]


async def _freshness(session: AsyncSession, view: str, interval_seconds: int) -> Freshness:
    return await freshness_of(session, SCHEMA, [view], interval_seconds)


async def retention(session: AsyncSession, period: Period, *, interval_seconds: int) -> RetentionReport:
    return RetentionReport(
        report="retention",
        from_=period.start,
        to=period.end,
        freshness=await _freshness(session, "report_membership_flows", interval_seconds),
        circles=await _table(session, RetentionCircle, sql.RETENTION_CIRCLES, period),
        months=await _table(session, RetentionMonth, sql.RETENTION_MONTHS, period),
    )


async def attendance(session: AsyncSession, period: Period, *, interval_seconds: int) -> AttendanceReport:
    return AttendanceReport(
        report="attendance",
        from_=period.start,
        to=period.end,
        freshness=await _freshness(session, "report_attendance_monthly", interval_seconds),
        months=await _table(session, AttendanceMonth, sql.ATTENDANCE_MONTHS, period),
        circles=await _table(session, AttendanceCircle, sql.ATTENDANCE_CIRCLES, period),
    )


async def goals(session: AsyncSession, period: Period, *, interval_seconds: int) -> GoalsReport:
    return GoalsReport(
        report="goals",
        from_=period.start,
        to=period.end,
        freshness=await _freshness(session, "report_goals_monthly", interval_seconds),
        months=await _table(session, GoalsMonth, sql.GOALS_MONTHS, period),
        circles=await _table(session, GoalsCircle, sql.GOALS_CIRCLES, period),
    )


async def events(session: AsyncSession, period: Period, *, interval_seconds: int) -> EventsReport:
    return EventsReport(
        report="events",
        from_=period.start,
        to=period.end,
        freshness=await _freshness(session, "report_event_fill", interval_seconds),
        events=await _table(session, EventFill, sql.EVENTS, period),
        months=await _table(session, EventsMonth, sql.EVENTS_MONTHS, period),
    )
