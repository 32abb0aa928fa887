"""The reports' answers. Money in minor units, one row per currency (never summed across
currencies). Rates are fractions (0..1, four decimals), null when nothing was due."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from mcm_shared.reports import Freshness


class ReportBase(BaseModel):
    """What every report answers besides its tables (documents the JSON the database renders)."""

    model_config = ConfigDict(populate_by_name=True)

    report: str
    # The period: whole UTC months, `from` inclusive, `to` exclusive.
    from_: date = Field(alias="from")
    to: date
    freshness: Freshness


class DuesMonth(BaseModel):
    month: str = Field(description="YYYY-MM (UTC), of the instalments' due date")
    due: int = Field(description="Dues instalments due in the month")
    paid_on_time: int = Field(description="Paid by the end of their due date (UTC)")
    paid_late: int
    unpaid: int
    on_time_rate: float | None = Field(description="paid_on_time / due")


class DuesReport(ReportBase):
    months: list[DuesMonth]


class RevenueMonth(BaseModel):
    month: str = Field(description="YYYY-MM (UTC)")
    currency: str
    collected: int = Field(description="Payments received in the month, minor units")
    payments: int
    refunded: int = Field(description="Refunds that succeeded in the month, minor units")
    refunds: int
    net: int = Field(description="collected - refunded")


class RevenueEvent(BaseModel):
    event_id: uuid.UUID
    currency: str
    collected: int
    payments: int
    refunded: int
    refunds: int
    net: int


class RevenueReport(ReportBase):
    months: list[RevenueMonth]
    events: list[RevenueEvent]
