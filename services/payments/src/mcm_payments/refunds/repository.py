"""SQL for refunds."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.refunds.models import Refund


class RefundRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, refund: Refund) -> None:
        self.session.add(refund)

    async def get(self, refund_id: uuid.UUID, *, lock: bool = False) -> Refund | None:
        query = select(Refund).where(Refund.id == refund_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def by_stripe_id(self, stripe_refund_id: str) -> Refund | None:
        return await self.session.scalar(
            select(Refund)
            .where(Refund.stripe_refund_id == stripe_refund_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def for_payment(self, payment_id: uuid.UUID) -> Sequence[Refund]:
        return (
            await self.session.scalars(
                select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.created_at)
            )
        ).all()

    async def for_payments(self, payment_ids: Sequence[uuid.UUID]) -> Sequence[Refund]:
        if not payment_ids:
            return []
        return (
            await self.session.scalars(
                select(Refund).where(Refund.payment_id.in_(payment_ids)).order_by(Refund.created_at)
            )
        ).all()
