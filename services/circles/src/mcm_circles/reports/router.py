"""HTTP for circles' reports (`reports:read`: leadership, admin): JSON, or a table as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response
from pydantic import BaseModel

from mcm_circles.deps import RuntimeDep
from mcm_circles.reports import service
from mcm_circles.reports.schemas import AttendanceReport, EventsReport, GoalsReport, RetentionReport
from mcm_shared.errors import Forbidden, InvalidInput, Unauthenticated, problem_responses
from mcm_shared.reports import Period, ReportPeriod, csv_table_of, report_responses
from mcm_shared.security import Principal, require_permission
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

ReportReader = Annotated[Principal, Depends(require_permission("reports:read"))]
Accept = Annotated[str | None, Header(include_in_schema=False)]
Table = Annotated[str | None, Query(description="With `Accept: text/csv`: which table (default: the first)")]
PROBLEMS = problem_responses(Unauthenticated, Forbidden, InvalidInput)


def _responses(model: type[BaseModel]) -> dict[int | str, dict[str, object]]:
    return {**report_responses(model), **PROBLEMS}


async def _answer(
    name: str, period: Period, session: SessionDep, runtime: RuntimeDep, accept: str | None, table: str | None
) -> Response:
    csv_table = csv_table_of(accept, table, service.table_names(name))
    interval = runtime.settings.reports_refresh_interval_seconds
    rendered = await service.report(session, name, period, interval_seconds=interval, csv_table=csv_table)
    return rendered.response()


@router.get("/retention", response_model=None, responses=_responses(RetentionReport))
async def retention_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Membership growth and retention per circle over the period, and across circles per month."""
    return await _answer("retention", period, session, runtime, accept, table)


@router.get("/attendance", response_model=None, responses=_responses(AttendanceReport))
async def attendance_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Attendance rate across circles per month, and per circle over the period."""
    return await _answer("attendance", period, session, runtime, accept, table)


@router.get("/goals", response_model=None, responses=_responses(GoalsReport))
async def goals_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Goal completion across circles per month of the goals' target date, and per circle."""
    return await _answer("goals", period, session, runtime, accept, table)


@router.get("/events", response_model=None, responses=_responses(EventsReport))
async def events_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Event fill and waitlist conversion per event starting in the period, and per month."""
    return await _answer("events", period, session, runtime, accept, table)
