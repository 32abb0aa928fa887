"""The period a report covers: whole UTC months, `from` inclusive and `to` exclusive.

`from` is moved back to the first day of its month; a `to` that is not the first day of a
month is moved forward to the first day of the next one, so the period is every month the
[from, to) range touches. Without them: the last 12 months, the current one included.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import Depends, Query

from mcm_shared.errors import InvalidInput

MAX_MONTHS = 60
DEFAULT_MONTHS = 12


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True, slots=True)
class Period:
    start: date  # the first day of the first month
    end: date  # the first day of the month after the last (exclusive)

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time(), UTC)

    @property
    def end_at(self) -> datetime:
        return datetime.combine(self.end, time(), UTC)

    @property
    def months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month


def period_of(from_: date | None, to: date | None, *, today: date) -> Period:
    end = to if to is not None else _add_months(today.replace(day=1), 1)
    if end.day != 1:
        end = _add_months(end.replace(day=1), 1)
    start = from_.replace(day=1) if from_ is not None else _add_months(end, -DEFAULT_MONTHS)
    period = Period(start, end)
    if period.months <= 0:
        raise InvalidInput("`from` must be before `to`.")
    if period.months > MAX_MONTHS:
        raise InvalidInput(f"A report covers at most {MAX_MONTHS} months.")
    return period


async def _report_period(
    from_: Annotated[
        date | None, Query(alias="from", description="ISO date, inclusive; moved back to its month's first day")
    ] = None,
    to: Annotated[
        date | None, Query(description="ISO date, exclusive; a day other than the 1st includes its month")
    ] = None,
) -> Period:
    return period_of(from_, to, today=datetime.now(UTC).date())


ReportPeriod = Annotated[Period, Depends(_report_period)]
