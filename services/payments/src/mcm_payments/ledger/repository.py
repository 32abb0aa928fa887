"""SQL for the ledger: payments, invoice and subscription mirrors, refund reservations.

Stripe objects arrive more than once and out of order, so every write here is idempotent
(unique Stripe ids, ON CONFLICT) and monotonic (an invoice never goes back to open, a canceled
subscription never comes back to life).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.models import Invoice, Payment, Subscription

LIVE_SUBSCRIPTION = ("active", "past_due", "trialing", "incomplete", "unpaid")


@dataclass(frozen=True)
class Totals:
    paid: int  # every payment received for the obligation (card and offline)
    billed_invoices: int  # paid invoices plus invoices whose charge failed and are still open
    invoices_paid: int
    unpaid_failed: int  # open invoices whose charge failed


class LedgerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # -- payments ---------------------------------------------------------------------------
    async def record_payment(self, **values: Any) -> Payment | None:
        """Insert a payment; None when this Stripe payment is already recorded."""
        statement = insert(Payment).values(id=uuid.uuid4(), **values).on_conflict_do_nothing().returning(Payment.id)
        new_id = (await self.session.execute(statement)).scalar_one_or_none()
        return None if new_id is None else await self.session.get(Payment, new_id)

    async def payment(self, payment_id: uuid.UUID, *, lock: bool = False) -> Payment | None:
        query = select(Payment).where(Payment.id == payment_id)
        if lock:
            query = query.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(query)

    async def payment_by_intent(self, intent_id: str) -> Payment | None:
        return await self.session.scalar(select(Payment).where(Payment.stripe_payment_intent_id == intent_id))

    async def payments_of(self, obligation_id: uuid.UUID) -> Sequence[Payment]:
        return (
            await self.session.scalars(
                select(Payment).where(Payment.obligation_id == obligation_id).order_by(Payment.paid_at)
            )
        ).all()

    async def payments_of_user(
        self, user_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
    ) -> Sequence[Payment]:
        query = select(Payment).where(Payment.user_id == user_id)
        if after:
            query = query.where(tuple_(Payment.paid_at, Payment.id) < after)
        return (
            await self.session.scalars(query.order_by(Payment.paid_at.desc(), Payment.id.desc()).limit(limit + 1))
        ).all()

    async def reserve_refund(self, payment_id: uuid.UUID, amount: int) -> bool:
        """Atomically take `amount` from what is left to refund; False if not that much is left.

        One UPDATE with the condition in its WHERE clause: concurrent requests queue on the row
        lock and each sees the previous one's result, and the CHECK constraint backs it up.
        """
        result = await self.session.execute(
            update(Payment)
            .where(Payment.id == payment_id, Payment.amount_refunded + amount <= Payment.amount)
            .values(amount_refunded=Payment.amount_refunded + amount)
            .returning(Payment.id)
        )
        return result.first() is not None

    async def release_refund(self, payment_id: uuid.UUID, amount: int) -> None:
        await self.session.execute(
            update(Payment)
            .where(Payment.id == payment_id)
            .values(amount_refunded=func.greatest(Payment.amount_refunded - amount, 0))
        )

    # -- invoices ---------------------------------------------------------------------------
    async def upsert_invoice(
        self, *, obligation_id: uuid.UUID, stripe_invoice_id: str, status: str, **values: Any
    ) -> Invoice | None:
        """Insert or move an invoice forward. Returns None if it was already final (stale event)."""
        attempted = values.pop("attempted", False)
        statement = insert(Invoice).values(
            id=uuid.uuid4(),
            obligation_id=obligation_id,
            stripe_invoice_id=stripe_invoice_id,
            status=status,
            attempted=attempted,
            **values,
        )
        excluded = statement.excluded
        upsert = statement.on_conflict_do_update(
            index_elements=[Invoice.stripe_invoice_id],
            set_={
                "status": excluded.status,
                "attempted": Invoice.attempted | excluded.attempted,
                "amount_due": excluded.amount_due,
                "paid_at": func.coalesce(Invoice.paid_at, excluded.paid_at),
                "failed_at": func.coalesce(excluded.failed_at, Invoice.failed_at),
                "paid_out_of_band": Invoice.paid_out_of_band | excluded.paid_out_of_band,
                "updated_at": func.now(),
            },
            where=Invoice.status == "open",
        ).returning(Invoice.id)
        invoice_id = (await self.session.execute(upsert)).scalar_one_or_none()
        return None if invoice_id is None else await self.session.get(Invoice, invoice_id, populate_existing=True)

    async def invoice(self, stripe_invoice_id: str) -> Invoice | None:
        return await self.session.scalar(select(Invoice).where(Invoice.stripe_invoice_id == stripe_invoice_id))

    async def unpaid_failed_invoices(self, obligation_id: uuid.UUID) -> Sequence[Invoice]:
        return (
            await self.session.scalars(
                select(Invoice)
                .where(Invoice.obligation_id == obligation_id, Invoice.status == "open", Invoice.attempted)
                .order_by(Invoice.created_at)
            )
        ).all()

    async def mark_paid_locally(self, invoice_ids: Sequence[uuid.UUID]) -> None:
        if invoice_ids:
            await self.session.execute(
                update(Invoice)
                .where(Invoice.id.in_(invoice_ids), Invoice.status == "open")
                .values(status="paid", paid_out_of_band=True, paid_at=func.now(), updated_at=func.now())
            )

    async def totals(self, obligation_id: uuid.UUID) -> Totals:
        paid = await self.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(Payment.obligation_id == obligation_id)
        )
        counted = or_(Invoice.status == "paid", and_(Invoice.status == "open", Invoice.attempted))
        row = (
            await self.session.execute(
                select(
                    func.coalesce(func.sum(case((counted, Invoice.amount_due), else_=0)), 0),
                    func.count().filter(Invoice.status == "paid"),
                    func.count().filter(and_(Invoice.status == "open", Invoice.attempted)),
                ).where(Invoice.obligation_id == obligation_id)
            )
        ).one()
        return Totals(
            paid=int(paid or 0), billed_invoices=int(row[0]), invoices_paid=int(row[1]), unpaid_failed=int(row[2])
        )

    # -- subscriptions ----------------------------------------------------------------------
    async def upsert_subscription(
        self, *, obligation_id: uuid.UUID, stripe_subscription_id: str, **values: Any
    ) -> Subscription | None:
        statement = insert(Subscription).values(
            id=uuid.uuid4(), obligation_id=obligation_id, stripe_subscription_id=stripe_subscription_id, **values
        )
        upsert = statement.on_conflict_do_update(
            index_elements=[Subscription.stripe_subscription_id],
            set_={**{name: getattr(statement.excluded, name) for name in values}, "updated_at": func.now()},
            where=Subscription.status != "canceled",
        ).returning(Subscription.id)
        sub_id = (await self.session.execute(upsert)).scalar_one_or_none()
        return None if sub_id is None else await self.session.get(Subscription, sub_id, populate_existing=True)

    async def subscription(self, stripe_subscription_id: str) -> Subscription | None:
        return await self.session.scalar(
            select(Subscription).where(Subscription.stripe_subscription_id == stripe_subscription_id)
        )

    async def live_subscription(self, obligation_id: uuid.UUID) -> Subscription | None:
        return await self.session.scalar(
            select(Subscription)
            .where(Subscription.obligation_id == obligation_id, Subscription.status.in_(LIVE_SUBSCRIPTION))
            .order_by(Subscription.created_at.desc())
            .limit(1)
        )

    async def subscriptions_of_user(self, obligation_ids: Sequence[uuid.UUID]) -> Sequence[Subscription]:
        if not obligation_ids:
            return []
        return (
            await self.session.scalars(
                select(Subscription)
                .where(Subscription.obligation_id.in_(obligation_ids))
                .order_by(Subscription.created_at.desc())
            )
        ).all()
