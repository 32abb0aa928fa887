"""HTTP for circles' reports (`reports:read`: leadership, admin): JSON, or a table as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response

from mcm_circles.deps import RuntimeDep
from mcm_circles.reports import service
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
from mcm_shared.errors import Forbidden, InvalidInput, Unauthenticated, problem_responses
from mcm_shared.reports import ReportPeriod, render_report, report_responses
from mcm_shared.security import Principal, require_permission
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

ReportReader = Annotated[Principal, Depends(require_permission("reports:read"))]
Accept = Annotated[str | None, Header(include_in_schema=False)]
Table = Annotated[str | None, Query(description="With `Accept: text/csv`: which table (default: the first)")]
PROBLEMS = problem_responses(Unauthenticated, Forbidden, InvalidInput)


@router.get("/retention", response_model=None, responses={**report_responses(RetentionReport), **PROBLEMS})
async def retention_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Membership growth and retention per circle over the period, and across circles per month."""
    report = await service.retention(
        session, period, interval_seconds=runtime.settings.reports_refresh_interval_seconds
    )
    return render_report(
        report, period, {"circles": RetentionCircle, "months": RetentionMonth}, accept=accept, table=table
    )


@router.get("/attendance", response_model=None, responses={**report_responses(AttendanceReport), **PROBLEMS})
async def attendance_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Attendance rate across circles per month, and per circle over the period."""
    report = await service.attendance(
        session, period, interval_seconds=runtime.settings.reports_refresh_interval_seconds
    )
    return render_report(
        report, period, {"months": AttendanceMonth, "circles": AttendanceCircle}, accept=accept, table=table
    )


@router.get("/goals", response_model=None, responses={**report_responses(GoalsReport), **PROBLEMS})
async def goals_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Goal completion across circles per month of the goals' target date, and per circle."""
    report = await service.goals(session, period, interval_seconds=runtime.settings.reports_refresh_interval_seconds)
    return render_report(report, period, {"months": GoalsMonth, "circles": GoalsCircle}, accept=accept, table=table)


@router.get("/events", response_model=None, responses={**report_responses(EventsReport), **PROBLEMS})
async def events_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Event fill and waitlist conversion per event starting in the period, and per month."""
    report = await service.events(session, period, interval_seconds=runtime.settings.reports_refresh_interval_seconds)
    return render_report(report, period, {"events": EventFill, "months": EventsMonth}, accept=accept, table=table)
