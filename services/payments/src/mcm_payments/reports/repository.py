"""The reports' SQL: each table's SELECT over its materialized view for the period (PostgreSQL
sums, and `mcm_shared.reports` has it render the rows).

`:start` and `:end` are the period's first day and the day after its last month.
"""

from __future__ import annotations

S = "payments"

DUES_MONTHS = f"""
    WITH months AS (
        SELECT g.m::date AS month
          FROM generate_series(CAST(:start AS timestamp), CAST(:end AS timestamp) - interval '1 month',
                               interval '1 month') AS g(m)
    )
    SELECT to_char(months.month, 'YYYY-MM') AS month, coalesce(d.due, 0)::int AS due,
           coalesce(d.paid_on_time, 0)::int AS paid_on_time, coalesce(d.paid_late, 0)::int AS paid_late,
           coalesce(d.unpaid, 0)::int AS unpaid,
           round(d.paid_on_time::numeric / nullif(d.due, 0), 4)::float8 AS on_time_rate
      FROM months LEFT JOIN {S}.report_dues_monthly d ON d.month = months.month
     ORDER BY months.month
"""

REVENUE_MONTHS = f"""
    SELECT to_char(month, 'YYYY-MM') AS month, currency, collected, payments, refunded, refunds,
           collected - refunded AS net
      FROM {S}.report_revenue_monthly
     WHERE month >= :start AND month < :end
     ORDER BY month, currency
"""

REVENUE_EVENTS = f"""
    SELECT event_id, currency, sum(collected)::bigint AS collected, sum(payments)::bigint AS payments,
           sum(refunded)::bigint AS refunded, sum(refunds)::bigint AS refunds,
           sum(collected - refunded)::bigint AS net
      FROM {S}.report_revenue_events
     WHERE month >= :start AND month < :end
     GROUP BY event_id, currency
     ORDER BY event_id, currency
"""
