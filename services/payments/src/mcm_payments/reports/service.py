"""The reports payments serves (PostgreSQL renders the rows; the answer states how fresh the views
are), and the refresh of their views (run by the payments worker)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.db import SCHEMA
from mcm_payments.reports import repository as sql
from mcm_payments.reports.models import VIEWS
from mcm_payments.reports.schemas import DuesMonth, RevenueEvent, RevenueMonth
from mcm_payments.runtime import PaymentsRuntime
from mcm_shared.reports import Period, Rendered, ReportTable, freshness_of, refresh_views, render_report


@dataclass(frozen=True, slots=True)
class Report:
    views: tuple[str, ...]  # the materialized views it reads (the stalest gives the answer's freshness)
    tables: dict[str, ReportTable]  # the first is the CSV default


REPORTS: dict[str, Report] = {
    "dues": Report(("report_dues_monthly",), {"months": ReportTable(sql.DUES_MONTHS, "month", DuesMonth)}),
    "revenue": Report(
        ("report_revenue_monthly", "report_revenue_events"),
        {
            "months": ReportTable(sql.REVENUE_MONTHS, "month, currency", RevenueMonth),
            "events": ReportTable(sql.REVENUE_EVENTS, "event_id, currency", RevenueEvent),
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
        freshness=await freshness_of(session, SCHEMA, chosen.views, interval_seconds),
        tables=chosen.tables,
        csv_table=csv_table,
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
