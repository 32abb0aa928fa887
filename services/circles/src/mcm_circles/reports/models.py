"""When each report view was last refreshed (the views themselves are SQL in migration 0009_reports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mcm_circles.db import Base

# The materialized views the refresh job keeps fresh, in the order it refreshes them.
VIEWS = ("report_membership_flows", "report_attendance_monthly", "report_goals_monthly", "report_event_fill")


class ReportRefresh(Base):
    __tablename__ = "report_refreshes"

    view: Mapped[str] = mapped_column(String(63), primary_key=True)
    refreshed_at: Mapped[datetime]
