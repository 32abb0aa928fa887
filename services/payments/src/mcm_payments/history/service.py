"""A member's payment history: payments (with receipts and refunds) and subscriptions."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.history.schemas import History, PaymentEntry, Receipt, RefundEntry, SubscriptionEntry
from mcm_payments.ledger import service as ledger
from mcm_payments.ledger.models import Payment
from mcm_payments.obligations.models import Obligation
from mcm_payments.obligations.schemas import Money
from mcm_payments.refunds import service as refund_service
from mcm_payments.refunds.models import Refund
from mcm_shared.pagination import next_page, parse_datetime, read_cursor
from mcm_shared.security import Principal

# Cursors name their list, so one list's cursor is refused by another (mcm_shared.pagination).
HISTORY_SORT = "payment_history"


def payment_entry(payment: Payment, refunds: Sequence[Refund] = ()) -> PaymentEntry:
    currency = payment.currency
    return PaymentEntry(
        id=payment.id,
        obligation_id=payment.obligation_id,
        amount=Money(amount=payment.amount, currency=currency),
        amount_refunded=Money(amount=payment.amount_refunded, currency=currency),
        source=payment.source,
        method=payment.method,
        paid_at=payment.paid_at,
        receipt=Receipt(number=payment.receipt_number or f"MCM-{payment.id.hex[:10].upper()}", url=payment.receipt_url),
        refunds=[
            RefundEntry(
                id=r.id,
                amount=Money(amount=r.amount, currency=r.currency),
                status=r.status,
                created_at=r.created_at,
                succeeded_at=r.succeeded_at,
            )
            for r in refunds
        ],
    )


async def history(session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None) -> History:
    if principal.user_id is None:
        return History(items=[], subscriptions=[])
    after = read_cursor(cursor, HISTORY_SORT, parse_datetime)
    rows, next_cursor = next_page(
        await ledger.payments_of_user(session, principal.user_id, limit, after),
        limit,
        HISTORY_SORT,
        lambda p: (p.paid_at, p.id),
    )
    by_payment: dict[uuid.UUID, list[Refund]] = defaultdict(list)
    for refund in await refund_service.for_payments(session, [p.id for p in rows]):
        by_payment[refund.payment_id].append(refund)
    obligation_ids = (await session.scalars(select(Obligation.id).where(Obligation.user_id == principal.user_id))).all()
    subscriptions = [
        SubscriptionEntry(
            id=s.stripe_subscription_id,
            obligation_id=s.obligation_id,
            status=s.status,
            current_period_end=s.current_period_end,
            cancel_at_period_end=s.cancel_at_period_end,
            canceled_at=s.canceled_at,
            paused=s.paused,
        )
        for s in await ledger.subscriptions_of_user(session, obligation_ids)
    ]
    return History(
        items=[payment_entry(p, by_payment[p.id]) for p in rows], next_cursor=next_cursor, subscriptions=subscriptions
    )
