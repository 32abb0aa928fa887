"""SQL for checkout sessions."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.checkout.models import CheckoutSession


class CheckoutRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def add(self, row: CheckoutSession) -> None:
        self.session.add(row)

    async def open_for(self, obligation_id: uuid.UUID) -> Sequence[CheckoutSession]:
        return (
            await self.session.scalars(
                select(CheckoutSession).where(
                    CheckoutSession.obligation_id == obligation_id, CheckoutSession.status == "open"
                )
            )
        ).all()

    async def expire_lapsed(self, obligation_id: uuid.UUID) -> None:
        """Sessions past their expiry are expired at Stripe too; say so locally."""
        await self.session.execute(
            update(CheckoutSession)
            .where(
                CheckoutSession.obligation_id == obligation_id,
                CheckoutSession.status == "open",
                CheckoutSession.expires_at <= func.now(),
            )
            .values(status="expired", updated_at=func.now())
        )

    async def mark(self, stripe_session_id: str, status: str) -> None:
        # open → complete | expired, never back.
        await self.session.execute(
            update(CheckoutSession)
            .where(CheckoutSession.stripe_session_id == stripe_session_id, CheckoutSession.status == "open")
            .values(status=status, updated_at=func.now())
        )
