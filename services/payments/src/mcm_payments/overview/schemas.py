from __future__ import annotations

from pydantic import BaseModel


class MonthTotals(BaseModel):
    month: str  # YYYY-MM (UTC)
    currency: str
    collected: int
    payments: int
    refunded: int
    refunds: int
    net: int


class CurrencyTotal(BaseModel):
    currency: str
    amount: int
    count: int


class Overview(BaseModel):
    """Money in minor units, per currency (never summed across currencies)."""

    from_month: str
    to_month: str
    months: list[MonthTotals]
    outstanding: list[CurrencyTotal]
    overdue: list[CurrencyTotal]
    refunds: list[CurrencyTotal]
    refunds_in_progress: list[CurrencyTotal]
