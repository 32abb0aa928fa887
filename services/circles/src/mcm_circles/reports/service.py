"""The reports circles serves: each reads its views for the period, PostgreSQL renders the rows,
and the answer states how fresh the views are."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.db import SCHEMA
from mcm_circles.reports import repository as sql
from mcm_circles.reports.schemas import (
    AttendanceCircle,
    AttendanceMonth,
    EventFill,
    EventsMonth,
    GoalsCircle,
    GoalsMonth,
    RetentionCircle,
    RetentionMonth,
)
from mcm_shared.reports import Period, Rendered, ReportTable, freshness_of, render_report


@dataclass(frozen=True, slots=True)
class Report:
    view: str  # the materialized view it reads (its freshness is the answer's)
    tables: dict[str, ReportTable]  # the first is the CSV default


BY_NAME_ORDER = "circle_name, circle_id"
REPORTS: dict[str, Report] = {
    "retention": Report(
        "report_membership_flows",
        {
            "circles": ReportTable(sql.RETENTION_CIRCLES, BY_NAME_ORDER, RetentionCircle),
            "months": ReportTable(sql.RETENTION_MONTHS, "month", RetentionMonth),
        },
    ),
    "attendance": Report(
        "report_attendance_monthly",
        {
            "months": ReportTable(sql.ATTENDANCE_MONTHS, "month", AttendanceMonth),
            "circles": ReportTable(sql.ATTENDANCE_CIRCLES, BY_NAME_ORDER, AttendanceCircle),
        },
    ),
    "goals": Report(
        "report_goals_monthly",
        {
            "months": ReportTable(sql.GOALS_MONTHS, "month", GoalsMonth),
            "circles": ReportTable(sql.GOALS_CIRCLES, BY_NAME_ORDER, GoalsCircle),
        },
    ),
    "events": Report(
        "report_event_fill",
        {
            "events": ReportTable(sql.EVENTS, "starts_at, event_id", EventFill),
            "months": ReportTable(sql.EVENTS_MONTHS, "month", EventsMonth),
        },
    ),
}


def table_names(name: str) -> tuple[str, ...]:
    return tuple(REPORTS[name].tables)


async def report(
    session: AsyncSession, name: str, period: Period, *, interval_seconds: int, csv_table: str | None
) -> Rendered:
    """Report `name` for `period`: JSON, or its table `csv_table` as CSV."""
    chosen = REPORTS[name]
    return await render_report(
        session,
        name=name,
        period=period,
        freshness=await freshness_of(session, SCHEMA, [chosen.view], interval_seconds),
        tables=chosen.tables,
        csv_table=csv_table,
    )
