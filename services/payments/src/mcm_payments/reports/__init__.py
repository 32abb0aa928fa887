"""Reports on payments' data (docs/reports.md): on-time dues and revenue.

Computed by PostgreSQL from materialized views (migration 0006_reports) that the payments worker
refreshes every `REPORTS_REFRESH_INTERVAL_SECONDS`; every answer states how fresh it is.
"""
