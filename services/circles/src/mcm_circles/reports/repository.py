"""The reports' SQL: each table's SELECT over its materialized view for the period (PostgreSQL
counts, and `mcm_shared.reports` has it render the rows).

`:start` and `:end` are the period's first day and the day after its last month (dates, read as
UTC midnights); `months` is the series of the period's months, so every month has a row.
"""

from __future__ import annotations

S = "circles"

MONTHS = """
    SELECT g.m::date AS month, (g.m + interval '1 month')::date AS next_month
      FROM generate_series(CAST(:start AS timestamp), CAST(:end AS timestamp) - interval '1 month',
                           interval '1 month') AS g(m)
"""


def _rate(numerator: str, denominator: str) -> str:
    return f"round(({numerator})::numeric / nullif({denominator}, 0), 4)::float8"


def _flows(start: str, end: str) -> str:
    """The retention counts over [start, end), both first days of months. A member is active at
    the start of month M when he joined in an earlier month and had not left before M."""
    return f"""
        coalesce(sum(f.members) FILTER (WHERE f.joined_month < {start} AND f.ended_month >= {start}), 0)::int
            AS members_at_start,
        coalesce(sum(f.members) FILTER (WHERE f.joined_month >= {start} AND f.joined_month < {end}), 0)::int
            AS joined,
        coalesce(sum(f.members) FILTER (WHERE f.ended_month >= {start} AND f.ended_month < {end}), 0)::int
            AS "left",
        coalesce(sum(f.members) FILTER (WHERE f.joined_month < {end} AND f.ended_month >= {end}), 0)::int
            AS members_at_end,
        coalesce(sum(f.members) FILTER (WHERE f.joined_month < {start} AND f.ended_month >= {end}), 0)::int
            AS retained
    """


RETENTION_CIRCLES = f"""
    WITH counted AS (
        SELECT f.circle_id, {_flows("CAST(:start AS date)", "CAST(:end AS date)")}
          FROM {S}.report_membership_flows f
         WHERE f.joined_month < :end AND f.ended_month >= :start
         GROUP BY f.circle_id
    )
    SELECT counted.*, c.name AS circle_name, {_rate("retained", "members_at_start")} AS retention_rate
      FROM counted JOIN {S}.circles c ON c.id = counted.circle_id
     ORDER BY c.name, c.id
"""

# Summed over circles first (a few rows per pair of months), then counted per month.
RETENTION_MONTHS = f"""
    WITH months AS ({MONTHS}),
    f AS (
        SELECT joined_month, ended_month, sum(members) AS members
          FROM {S}.report_membership_flows
         WHERE joined_month < :end AND ended_month >= :start
         GROUP BY joined_month, ended_month
    ),
    counted AS (
        SELECT months.month, {_flows("months.month", "months.next_month")}
          FROM months LEFT JOIN f ON f.joined_month <= months.month AND f.ended_month >= months.month
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
