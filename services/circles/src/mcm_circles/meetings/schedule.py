"""Meeting times from a circle's schedule, right across time zones and DST changes.

Each occurrence is computed as a local date and wall-clock time in the circle's zone and only
then converted to UTC, so "Tuesdays 19:00 Europe/Berlin" stays 19:00 local on both sides of a
DST change (the UTC instant moves by an hour). A wall-clock time that does not exist on a
spring-forward day is moved forward by the gap (02:30 → 03:30); an ambiguous one on a fall-back
day takes its first occurrence.

Frequencies: weekly; biweekly (every other week, keeping the parity of the last meeting when it
fell on the schedule's weekday); monthly (the first such weekday of each month).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mcm_circles.circles.models import WEEKDAYS

WEEKDAY_INDEX = {name: index for index, name in enumerate(WEEKDAYS)}


def local_to_utc(day: date, at: time, zone: ZoneInfo) -> datetime:
    # fold=0: for a skipped time the pre-transition offset applies, which lands after the gap.
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def first_weekday_of_month(year: int, month: int, weekday: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7)


def occurrences(
    *,
    weekday: str,
    at: time,
    timezone: str,
    frequency: str,
    after: datetime,
    count: int,
    anchor: datetime | None = None,
) -> list[datetime]:
    """The next `count` meeting instants (UTC) strictly after `after`."""
    zone = ZoneInfo(timezone)
    target = WEEKDAY_INDEX[weekday]
    start = after.astimezone(zone).date()
    found: list[datetime] = []
    if frequency == "monthly":
        year, month = start.year, start.month
        while len(found) < count:
            instant = local_to_utc(first_weekday_of_month(year, month, target), at, zone)
            if instant > after:
                found.append(instant)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return found
    step = 7 if frequency == "weekly" else 14
    day = start + timedelta(days=(target - start.weekday()) % 7)
    if frequency == "biweekly" and anchor is not None:
        anchor_day = anchor.astimezone(zone).date()
        if anchor_day.weekday() == target and (day - anchor_day).days % 14:
            day += timedelta(days=7)
    while len(found) < count:
        instant = local_to_utc(day, at, zone)
        if instant > after:
            found.append(instant)
        day += timedelta(days=step)
    return found
