"""Leadership's view of the money: collected and refunded per month, what is outstanding,
what is overdue, refunds — computed in SQL, per currency."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.overview.repository import OverviewRepository
from mcm_payments.overview.schemas import CurrencyTotal, MonthTotals, Overview
from mcm_shared.errors import InvalidInput

MAX_MONTHS = 36


def _parse(month: str, name: str) -> datetime:
    try:
        return datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a month like 2026-01.",
            errors=[{"loc": ["query", name], "msg": "expected YYYY-MM", "type": "value_error"}],
        ) from None


def _next_month(moment: datetime) -> datetime:
    return (
        moment.replace(year=moment.year + 1, month=1) if moment.month == 12 else moment.replace(month=moment.month + 1)
    )


def _months_back(moment: datetime, count: int) -> datetime:
    for _ in range(count):
        moment = (
            moment.replace(year=moment.year - 1, month=12)
            if moment.month == 1
            else moment.replace(month=moment.month - 1)
        )
    return moment


async def overview(session: AsyncSession, *, from_month: str | None, to_month: str | None) -> Overview:
    this_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    last = _parse(to_month, "to") if to_month else this_month
    first = _parse(from_month, "from") if from_month else _months_back(last, 11)
    span = (last.year - first.year) * 12 + last.month - first.month + 1
    if span < 1 or span > MAX_MONTHS:
        raise InvalidInput(
            f"The range must cover 1 to {MAX_MONTHS} months, from ≤ to.",
            errors=[{"loc": ["query", "from"], "msg": "invalid range", "type": "value_error"}],
        )
    end = _next_month(last)
    repository = OverviewRepository(session)
    return Overview(
        from_month=first.strftime("%Y-%m"),
        to_month=last.strftime("%Y-%m"),
        months=[MonthTotals(**row) for row in await repository.months(first, end)],
        outstanding=[CurrencyTotal(**row) for row in await repository.due(("pending", "overdue"))],
        overdue=[CurrencyTotal(**row) for row in await repository.due(("overdue",))],
        refunds=[CurrencyTotal(**row) for row in await repository.refunds(("succeeded",), first, end)],
        refunds_in_progress=[
            CurrencyTotal(**row) for row in await repository.refunds(("requested", "pending"), first, end)
        ],
    )
