"""The reports' SQL: each reads its materialized view for the period and lets PostgreSQL count.

`:start` and `:end` are the period's first day and the day after its last month (dates, read as
UTC midnights); `months` is the series of the period's months, so every month has a row.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

S = "circles"

MONTHS = """
    SELECT g.m::date AS month, g.m AT TIME ZONE 'UTC' AS month_start,
           (g.m + interval '1 month') AT TIME ZONE 'UTC' AS month_end
      FROM generate_series(CAST(:start AS timestamp), CAST(:end AS timestamp) - interval '1 month',
                           interval '1 month') AS g(m)
"""


def _rate(numerator: str, denominator: str) -> str:
    return f"round(({numerator})::numeric / nullif({denominator}, 0), 4)::float8"


def _spans(start: str, end: str) -> str:
    """The retention counts over [start, end): a member is active at instant t when he joined
    before t and had not left by t."""
    return f"""
        count(*) FILTER (WHERE s.joined_at < {start} AND (s.ended_at IS NULL OR s.ended_at >= {start}))
            AS members_at_start,
        count(*) FILTER (WHERE s.joined_at >= {start} AND s.joined_at < {end}) AS joined,
        count(*) FILTER (WHERE s.ended_at >= {start} AND s.ended_at < {end}) AS "left",
        count(*) FILTER (WHERE s.joined_at < {end} AND (s.ended_at IS NULL OR s.ended_at >= {end}))
            AS members_at_end,
        count(*) FILTER (WHERE s.joined_at < {start} AND (s.ended_at IS NULL OR s.ended_at >= {end})) AS retained
    """


RETENTION_CIRCLES = f"""
    WITH p AS (SELECT CAST(:start AS timestamp) AT TIME ZONE 'UTC' AS ps,
                      CAST(:end AS timestamp) AT TIME ZONE 'UTC' AS pe),
    counted AS (
        SELECT s.circle_id, {_spans("p.ps", "p.pe")}
          FROM {S}.report_membership_spans s, p
         WHERE s.joined_at < p.pe AND (s.ended_at IS NULL OR s.ended_at >= p.ps)
         GROUP BY s.circle_id
    )
    SELECT counted.*, c.name AS circle_name, {_rate("retained", "members_at_start")} AS retention_rate
      FROM counted JOIN {S}.circles c ON c.id = counted.circle_id
     ORDER BY c.name, c.id
"""

RETENTION_MONTHS = f"""
    WITH months AS ({MONTHS}),
    counted AS (
        SELECT months.month, {_spans("months.month_start", "months.month_end").replace("count(*)", "count(s.*)")}
          FROM months
          LEFT JOIN {S}.report_membership_spans s
            ON s.joined_at < months.month_end AND (s.ended_at IS NULL OR s.ended_at >= months.month_start)
         GROUP BY months.month
    )
    SELECT to_char(month, 'YYYY-MM') AS month, members_at_start, joined, "left", members_at_end, retained,
           {_rate("retained", "members_at_start")} AS retention_rate
      FROM counted ORDER BY counted.month
"""

ATTENDANCE_COUNTS = ", ".join(
    f"coalesce(sum(a.{c}), 0)::int AS {c}" for c in ("marked", "present", "late", "excused", "absent")
)
ATTENDANCE_RATE = _rate("coalesce(sum(a.present + a.late), 0)", "sum(a.marked)")

ATTENDANCE_MONTHS = f"""
    WITH months AS ({MONTHS})
    SELECT to_char(months.month, 'YYYY-MM') AS month, {ATTENDANCE_COUNTS}, {ATTENDANCE_RATE} AS attendance_rate
      FROM months LEFT JOIN {S}.report_attendance_monthly a ON a.month = months.month
     GROUP BY months.month ORDER BY months.month
"""

ATTENDANCE_CIRCLES = f"""
    SELECT a.circle_id, c.name AS circle_name, {ATTENDANCE_COUNTS}, {ATTENDANCE_RATE} AS attendance_rate
      FROM {S}.report_attendance_monthly a JOIN {S}.circles c ON c.id = a.circle_id
     WHERE a.month >= :start AND a.month < :end
     GROUP BY a.circle_id, c.name ORDER BY c.name, a.circle_id
"""

GOALS_COUNTS = "coalesce(sum(g.goals_set), 0)::int AS goals_set, coalesce(sum(g.completed), 0)::int AS completed"
GOALS_RATE = _rate("sum(g.completed)", "sum(g.goals_set)")

GOALS_MONTHS = f"""
    WITH months AS ({MONTHS})
    SELECT to_char(months.month, 'YYYY-MM') AS month, {GOALS_COUNTS}, {GOALS_RATE} AS completion_rate
      FROM months LEFT JOIN {S}.report_goals_monthly g ON g.month = months.month
     GROUP BY months.month ORDER BY months.month
"""

GOALS_CIRCLES = f"""
    SELECT g.circle_id, c.name AS circle_name, {GOALS_COUNTS}, {GOALS_RATE} AS completion_rate
      FROM {S}.report_goals_monthly g JOIN {S}.circles c ON c.id = g.circle_id
     WHERE g.month >= :start AND g.month < :end
     GROUP BY g.circle_id, c.name ORDER BY c.name, g.circle_id
"""

EVENTS = f"""
    SELECT e.event_id, e.title, e.starts_at, to_char(e.month, 'YYYY-MM') AS month, e.capacity, e.confirmed,
           {_rate("e.confirmed", "e.capacity")} AS fill_rate, e.waitlisted, e.converted,
           {_rate("e.converted", "e.waitlisted")} AS conversion_rate
      FROM {S}.report_event_fill e
     WHERE e.month >= :start AND e.month < :end
     ORDER BY e.starts_at, e.event_id
"""

EVENTS_MONTHS = f"""
    WITH months AS ({MONTHS})
    SELECT to_char(months.month, 'YYYY-MM') AS month, count(e.event_id)::int AS events,
           coalesce(sum(e.capacity), 0)::int AS capacity, coalesce(sum(e.confirmed), 0)::int AS confirmed,
           {_rate("sum(e.confirmed)", "sum(e.capacity)")} AS fill_rate,
           coalesce(sum(e.waitlisted), 0)::int AS waitlisted, coalesce(sum(e.converted), 0)::int AS converted,
           {_rate("sum(e.converted)", "sum(e.waitlisted)")} AS conversion_rate
      FROM months LEFT JOIN {S}.report_event_fill e ON e.month = months.month
     GROUP BY months.month ORDER BY months.month
"""


class ReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def rows(self, query: str, start: date, end: date) -> list[dict[str, Any]]:
        result = await self.session.execute(text(query), {"start": start, "end": end})
        return [dict(row) for row in result.mappings()]
