"""The reports payments serves, and the refresh of their views (run by the payments worker)."""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.db import SCHEMA
from mcm_payments.reports import repository as sql
from mcm_payments.reports.models import VIEWS
from mcm_payments.reports.repository import ReportRepository
from mcm_payments.reports.schemas import DuesMonth, DuesReport, RevenueEvent, RevenueMonth, RevenueReport
from mcm_payments.runtime import PaymentsRuntime
from mcm_shared.reports import Period, freshness_of, refresh_views

Row = TypeVar("Row", bound=BaseModel)


async def _table(session: AsyncSession, model: type[Row], query: str, period: Period) -> list[Row]:
    rows = await ReportRepository(session).rows(query, period.start, period.end)
    return [model.model_validate(row) for row in rows]


async def dues(session: AsyncSession, period: Period, *, interval_seconds: int) -> DuesReport:
    return DuesReport(
        report="dues",
        from_=period.start,
        to=period.end,
        freshness=await freshness_of(session, SCHEMA, ["report_dues_monthly"], interval_seconds),
        months=await _table(session, DuesMonth, sql.DUES_MONTHS, period),
    )


async def revenue(session: AsyncSession, period: Period, *, interval_seconds: int) -> RevenueReport:
    views = ["report_revenue_monthly", "report_revenue_events"]
    return RevenueReport(
        report="revenue",
        from_=period.start,
        to=period.end,
        freshness=await freshness_of(session, SCHEMA, views, interval_seconds),
        months=await _table(session, RevenueMonth, sql.REVENUE_MONTHS, period),
        events=await _table(session, RevenueEvent, sql.REVENUE_EVENTS, period),
    )


async def refresh_due_views(runtime: PaymentsRuntime, *, force: bool = False) -> int:
    """Refresh the views older than the interval (safe with several replicas); returns how many."""
    refreshed = await refresh_views(
        runtime.sessionmaker,
        SCHEMA,
        VIEWS,
        interval_seconds=runtime.settings.reports_refresh_interval_seconds,
        force=force,
    )
    return len(refreshed)
