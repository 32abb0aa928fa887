"""What every service's reports share (docs/reports.md): the reporting period, the freshness of
the materialized views they read and the job that refreshes them, and the JSON/CSV answer.

The figures themselves are computed by the service that owns the data, in PostgreSQL.
"""

from mcm_shared.reports.freshness import Freshness, ViewRefresher, freshness_of, refresh_views
from mcm_shared.reports.period import Period, ReportPeriod, period_of
from mcm_shared.reports.render import (
    CSV_MEDIA_TYPE,
    Rendered,
    ReportTable,
    csv_table_of,
    render_report,
    report_responses,
    wants_csv,
)

__all__ = [
    "CSV_MEDIA_TYPE",
    "Freshness",
    "Period",
    "Rendered",
    "ReportPeriod",
    "ReportTable",
    "ViewRefresher",
    "csv_table_of",
    "freshness_of",
    "period_of",
    "refresh_views",
    "render_report",
    "report_responses",
    "wants_csv",
]
