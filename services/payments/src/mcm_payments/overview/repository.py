"""The financial overview, aggregated by PostgreSQL (one query per figure)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.models import Payment
from mcm_payments.obligations.models import Obligation
from mcm_payments.refunds.models import Refund


def _month(column: Any) -> Any:
    # Constants inline (not bound parameters) so GROUP BY repeats the very same expression.
    return func.date_trunc(literal_column("'month'"), column, literal_column("'UTC'"))


class OverviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def months(self, start: datetime, end: datetime) -> list[Any]:
        collected = (
            select(
                _month(Payment.paid_at).label("month"),
                Payment.currency.label("currency"),
                func.sum(Payment.amount).label("amount"),
                func.count().label("n"),
            )
            .where(Payment.paid_at >= start, Payment.paid_at < end)
            .group_by(_month(Payment.paid_at), Payment.currency)
            .subquery()
        )
        refunded = (
            select(
                _month(Refund.succeeded_at).label("month"),
                Refund.currency.label("currency"),
                func.sum(Refund.amount).label("amount"),
                func.count().label("n"),
            )
            .where(Refund.status == "succeeded", Refund.succeeded_at >= start, Refund.succeeded_at < end)
            .group_by(_month(Refund.succeeded_at), Refund.currency)
            .subquery()
        )
        month = func.coalesce(collected.c.month, refunded.c.month)
        currency = func.coalesce(collected.c.currency, refunded.c.currency)
        query = (
            select(
                func.to_char(func.timezone(literal_column("'UTC'"), month), literal_column("'YYYY-MM'")).label("month"),
                currency.label("currency"),
                func.coalesce(collected.c.amount, 0).label("collected"),
                func.coalesce(collected.c.n, 0).label("payments"),
                func.coalesce(refunded.c.amount, 0).label("refunded"),
                func.coalesce(refunded.c.n, 0).label("refunds"),
                (func.coalesce(collected.c.amount, 0) - func.coalesce(refunded.c.amount, 0)).label("net"),
            )
            .select_from(
                collected.join(
                    refunded,
                    (collected.c.month == refunded.c.month) & (collected.c.currency == refunded.c.currency),
                    full=True,
                )
            )
            .order_by(month, currency)
        )
        return list((await self.session.execute(query)).mappings())

    async def due(self, statuses: tuple[str, ...]) -> list[Any]:
        query = (
            select(
                Obligation.currency.label("currency"),
                func.sum(Obligation.amount_due).label("amount"),
                func.count().label("count"),
            )
            .where(Obligation.status.in_(statuses), Obligation.amount_due > 0)
            .group_by(Obligation.currency)
            .order_by(Obligation.currency)
        )
        return list((await self.session.execute(query)).mappings())

    async def refunds(self, statuses: tuple[str, ...], start: datetime, end: datetime) -> list[Any]:
        query = (
            select(
                Refund.currency.label("currency"), func.sum(Refund.amount).label("amount"), func.count().label("count")
            )
            .where(Refund.status.in_(statuses), Refund.created_at >= start, Refund.created_at < end)
            .group_by(Refund.currency)
            .order_by(Refund.currency)
        )
        return list((await self.session.execute(query)).mappings())
