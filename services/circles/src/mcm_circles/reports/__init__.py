"""Reports on circles' data (docs/reports.md): retention, attendance, goals, events.

Computed by PostgreSQL from materialized views (migration 0009_reports) that `ViewRefresher`
refreshes every `REPORTS_REFRESH_INTERVAL_SECONDS`; every answer states how fresh it is.
"""
