"""HTTP for payments' reports (`reports:read`: leadership, admin): JSON, or a table as CSV."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query
from fastapi.responses import Response

from mcm_payments.deps import RuntimeDep
from mcm_payments.reports import service
from mcm_payments.reports.schemas import DuesReport, RevenueReport
from mcm_shared.errors import Forbidden, InvalidInput, Unauthenticated, problem_responses
from mcm_shared.reports import Period, ReportPeriod, csv_table_of, report_responses
from mcm_shared.security import Principal, require_permission
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/reports", tags=["reports"])

ReportReader = Annotated[Principal, Depends(require_permission("reports:read"))]
Accept = Annotated[str | None, Header(include_in_schema=False)]
Table = Annotated[str | None, Query(description="With `Accept: text/csv`: which table (default: the first)")]
PROBLEMS = problem_responses(Unauthenticated, Forbidden, InvalidInput)


async def _answer(
    name: str, period: Period, session: SessionDep, runtime: RuntimeDep, accept: str | None, table: str | None
) -> Response:
    csv_table = csv_table_of(accept, table, service.table_names(name))
    interval = runtime.settings.reports_refresh_interval_seconds
    rendered = await service.report(session, name, period, interval_seconds=interval, csv_table=csv_table)
    return rendered.response()


@router.get("/dues", response_model=None, responses={**report_responses(DuesReport), **PROBLEMS})
async def dues_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """On-time dues rate per month: instalments paid by their due date among those due."""
    return await _answer("dues", period, session, runtime, accept, table)


@router.get("/revenue", response_model=None, responses={**report_responses(RevenueReport), **PROBLEMS})
async def revenue_report(
    _: ReportReader,
    period: ReportPeriod,
    session: SessionDep,
    runtime: RuntimeDep,
    accept: Accept = None,
    table: Table = None,
) -> Response:
    """Revenue (payments minus refunds) per month and per event, one row per currency."""
    return await _answer("revenue", period, session, runtime, accept, table)
