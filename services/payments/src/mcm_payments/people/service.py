"""One person's money: support's overview (obligations and payments), his export (everything
payments holds about him) and erasure (`user.erased`: his personal fields pseudonymised, the
ledger untouched). docs/privacy.md lists every field.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.models import Payment
from mcm_payments.obligations.models import Obligation
from mcm_payments.people.repository import PersonRepository
from mcm_payments.runtime import PaymentsRuntime
from mcm_shared.events import Envelope


async def overview(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    repo = PersonRepository(session)
    return {
        "user_id": user_id,
        "obligations": [_obligation(o) for o in await repo.obligations(user_id)],
        "payments": [_payment(p) for p in await repo.payments(user_id)],
    }


async def export(session: AsyncSession, user_id: uuid.UUID) -> dict[str, Any]:
    repo = PersonRepository(session)
    return {
        "user_id": user_id,
        "customers": [
            {"stripe_customer_id": c.stripe_customer_id, "created_at": c.created_at, "replaced_at": c.replaced_at}
            for c in await repo.customers(user_id)
        ],
        "obligations": [{**_obligation(o), "cancel_reason": o.cancel_reason} for o in await repo.obligations(user_id)],
        "payments": [
            {
                **_payment(p),
                "note": p.note,
                "receipt_url": p.receipt_url,
                "stripe_payment_intent_id": p.stripe_payment_intent_id,
                "stripe_invoice_id": p.stripe_invoice_id,
            }
            for p in await repo.payments(user_id)
        ],
        "refunds": [
            {
                "id": r.id,
                "payment_id": r.payment_id,
                "amount": {"amount": r.amount, "currency": r.currency},
                "status": r.status,
                "reason": r.reason,
                "created_at": r.created_at,
                "succeeded_at": r.succeeded_at,
            }
            for r in await repo.refunds(user_id)
        ],
        "invoices": [
            {
                "obligation_id": i.obligation_id,
                "number": i.number,
                "status": i.status,
                "amount_due": {"amount": i.amount_due, "currency": i.currency},
                "hosted_invoice_url": i.hosted_invoice_url,
                "paid_at": i.paid_at,
            }
            for i in await repo.invoices(user_id)
        ],
        "checkout_sessions": [
            {"obligation_id": s.obligation_id, "url": s.url, "status": s.status, "created_at": s.created_at}
            for s in await repo.checkout_sessions(user_id)
        ],
        "obligation_audit": [
            {
                "obligation_id": a.obligation_id,
                "action": a.action,
                "reason": a.reason,
                "data": a.data,
                "created_at": a.created_at,
            }
            for a in await repo.audit(user_id)
        ],
    }


async def on_user_erased(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    """`user.erased` (from auth): pseudonymise his personal fields; idempotent, so a re-delivery
    changes nothing more."""
    raw = envelope.payload.get("user_id")
    try:
        user_id = uuid.UUID(str(raw))
    except ValueError:
        return
    await PersonRepository(session).pseudonymise(user_id)


def _obligation(o: Obligation) -> dict[str, Any]:
    return {
        "id": o.id,
        "kind": o.kind,
        "context_id": o.context_id,
        "amount": {"amount": o.amount, "currency": o.currency},
        "interval": o.interval,
        "instalments": o.instalments,
        "status": o.status,
        "amount_due": o.amount_due,
        "amount_paid": o.amount_paid,
        "overdue_since": o.overdue_since,
        "settled_at": o.settled_at,
        "paused_until": o.paused_until,
        "created_at": o.created_at,
    }


def _payment(p: Payment) -> dict[str, Any]:
    return {
        "id": p.id,
        "obligation_id": p.obligation_id,
        "amount": {"amount": p.amount, "currency": p.currency},
        "amount_refunded": p.amount_refunded,
        "source": p.source,
        "method": p.method,
        "receipt_number": p.receipt_number,
        "paid_at": p.paid_at,
    }
