"""When each report view was last refreshed (the views themselves are SQL in migration 0006_reports)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base

# The materialized views the worker keeps fresh, in the order it refreshes them.
VIEWS = ("report_dues_monthly", "report_revenue_monthly", "report_revenue_events")


class ReportRefresh(Base):
    __tablename__ = "report_refreshes"

    view: Mapped[str] = mapped_column(String(63), primary_key=True)
    refreshed_at: Mapped[datetime]
