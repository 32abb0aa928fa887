"""Refunds: staff refunds (with Idempotency-Key), automatic full refunds when an event is
cancelled or a registration is cancelled with `refund: full`, and refund status as Stripe
reports it.

The amount is reserved on the payment first (`amount_refunded`, a conditional UPDATE under a
CHECK constraint), so concurrent requests can never refund more than was paid; a refund that
fails releases its reservation. Stripe is called after the commit, as a task with its own
idempotency key, so a crash or outage between the two loses nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments import idempotency
from mcm_payments.closing import service as closing
from mcm_payments.ledger.models import Payment
from mcm_payments.ledger.repository import LedgerRepository
from mcm_payments.obligations import service as obligations
from mcm_payments.obligations.models import Obligation
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.refunds import bus
from mcm_payments.refunds.errors import PaymentNotFound, RefundExceedsPayment
from mcm_payments.refunds.models import RANK, Refund
from mcm_payments.refunds.repository import RefundRepository
from mcm_payments.roles import actor_of
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.stripe_api import StripeRejected
from mcm_payments.tasks import service as tasks
from mcm_payments.tasks.models import StripeTask
from mcm_shared.events import Envelope
from mcm_shared.security import Principal

SCOPE = "refund"
STRIPE_STATUS = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "canceled",
}


async def request(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    principal: Principal,
    *,
    payment_id: uuid.UUID,
    amount: int | None,
    reason: str,
    key: str | None,
) -> Refund:
    key = idempotency.validate_key(key)
    digest = idempotency.request_hash({"payment_id": str(payment_id), "amount": amount, "reason": reason})
    if (stored := await idempotency.replay(session, SCOPE, principal.subject, key, digest)) is not None:
        return await _current(session, uuid.UUID(stored["refund_id"]))
    ledger = LedgerRepository(session)
    found = await ledger.payment(payment_id)
    if found is None:
        raise PaymentNotFound("No such payment.")
    # Lock order everywhere: obligation, then payment.
    obligation = await ObligationRepository(session).lock(found.obligation_id)
    payment = await ledger.payment(payment_id, lock=True)
    if obligation is None or payment is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("obligation or payment is missing")
    if (stored := await idempotency.replay(session, SCOPE, principal.subject, key, digest)) is not None:
        return await _current(session, uuid.UUID(stored["refund_id"]))
    left = payment.amount - payment.amount_refunded
    wanted = amount if amount is not None else left
    if left <= 0 or wanted > left:
        raise RefundExceedsPayment(f"Only {left} {payment.currency} of this payment can still be refunded.")
    refund, task_id = await _create(
        session,
        runtime,
        obligation,
        payment,
        amount=wanted,
        origin="staff",
        reason=reason,
        requested_by=actor_of(principal),
        roles=sorted(principal.roles),
    )
    await idempotency.remember(session, SCOPE, principal.subject, key, digest, {"refund_id": str(refund.id)})
    await session.commit()
    if task_id is not None:
        await tasks.run_due(runtime.sessionmaker, runtime, TASK_REACTIONS, task_id=task_id)
    return await _current(session, refund.id)


async def _current(session: AsyncSession, refund_id: uuid.UUID) -> Refund:
    """The refund as stored now (the task runner may have moved it on in its own session)."""
    refund = await session.get(Refund, refund_id, populate_existing=True)
    if refund is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("refund is missing")
    return refund


async def _create(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    obligation: Obligation,
    payment: Payment,
    *,
    amount: int,
    origin: str,
    reason: str,
    requested_by: str,
    roles: Sequence[str] = (),
) -> tuple[Refund, uuid.UUID | None]:
    if not await LedgerRepository(session).reserve_refund(payment.id, amount):
        raise RefundExceedsPayment("The refund exceeds what is left of the payment.")
    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        obligation_id=obligation.id,
        user_id=payment.user_id,
        amount=amount,
        currency=payment.currency,
        status="requested",
        origin=origin,
        reason=reason,
        requested_by=requested_by,
    )
    RefundRepository(session).add(refund)
    task_id = None
    if payment.source == "offline":
        # Money handed back by staff: done when they say so.
        refund.status, refund.succeeded_at = "succeeded", datetime.now(UTC)
        await session.flush()
        await session.refresh(payment)
        await bus.publish_succeeded(session, runtime.writer, refund, payment, obligation)
    else:
        task = tasks.enqueue(
            session,
            "submit_refund",
            str(refund.id),
            obligation_id=obligation.id,
            params={"payment_intent": payment.stripe_payment_intent_id, "amount": amount},
        )
        task_id = task.id
    ObligationRepository(session).audit(
        obligation,
        actor=requested_by,
        actor_roles=roles,
        action="refund_requested",
        reason=reason,
        status_before=obligation.status,
        data={"refund_id": str(refund.id), "payment_id": str(payment.id), "amount": amount},
    )
    await session.flush()
    return refund, task_id


async def refund_in_full(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    obligation: Obligation,
    payment: Payment,
    *,
    origin: str,
    reason: str,
    requested_by: str,
) -> Refund | None:
    """Refund whatever is left of a card payment; offline money is flagged for staff instead."""
    locked = await LedgerRepository(session).payment(payment.id, lock=True)
    if locked is None:  # held by a foreign key
        raise RuntimeError("payment is missing")
    payment = locked
    left = payment.amount - payment.amount_refunded
    if left <= 0:
        return None
    if payment.source == "offline":
        note = f"Hand back the {payment.method} payment of {left} {payment.currency} ({reason})."
        # Several offline payments: one line each (and the same line only once).
        if not obligation.attention:
            obligation.attention = note
        elif note not in obligation.attention:
            obligation.attention = f"{obligation.attention} {note}"
        return None
    refund, _ = await _create(
        session, runtime, obligation, payment, amount=left, origin=origin, reason=reason, requested_by=requested_by
    )
    return refund


async def on_event_cancelled(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = bus.EventCancelled.model_validate(envelope.payload)
    actor = f"svc:{envelope.producer}"
    repository = ObligationRepository(session)
    for obligation in await repository.lock_for_context("registration", data.event_id):
        before = await closing.close(session, obligation, reason="event_cancelled", at_period_end=False)
        refunds = []
        for payment in await LedgerRepository(session).payments_of(obligation.id):
            refund = await refund_in_full(
                session,
                runtime,
                obligation,
                payment,
                origin="event_cancelled",
                reason="Event cancelled",
                requested_by=actor,
            )
            if refund is not None:
                refunds.append(str(refund.id))
        repository.audit(
            obligation,
            actor=actor,
            action="event_cancelled",
            status_before=before,
            data={"event_id": str(data.event_id), "refunds": refunds},
        )


async def on_registration_cancelled(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    """A registration was cancelled (by the participant, or no seat was left for a late payment).

    The obligation is cancelled (nothing more is collected: an instalment subscription is
    cancelled now, so no further instalment is charged and Stripe stops retrying a failed one;
    an open checkout is expired). `refund: full` also refunds whatever is left of every card
    payment and flags offline money for staff to hand back; `none` refunds nothing. Idempotent:
    refunds take what is left of each payment (reserved on the payment row under a CHECK
    constraint), so a repeat, or a late-payment refund that already ran, refunds nothing more.
    """
    data = bus.RegistrationCancelled.model_validate(envelope.payload)
    actor = f"svc:{envelope.producer}"
    repository = ObligationRepository(session)
    obligation = await repository.lock_by_source("registration", data.registration_id)
    if obligation is None:
        return  # a free registration: nothing was ever owed
    before = await closing.close(session, obligation, reason="registration_cancelled", at_period_end=False)
    refunds = []
    if data.refund == "full":
        for payment in await LedgerRepository(session).payments_of(obligation.id):
            refund = await refund_in_full(
                session,
                runtime,
                obligation,
                payment,
                origin="registration_cancelled",
                reason="Registration cancelled",
                requested_by=actor,
            )
            if refund is not None:
                refunds.append(str(refund.id))
    repository.audit(
        obligation,
        actor=actor,
        action="registration_cancelled",
        reason=data.reason,
        status_before=before,
        data={
            "event_id": str(envelope.id),
            "refund": data.refund,
            "refunds": refunds,
            "price": data.amount,
            "currency": data.currency,
        },
    )


async def apply_stripe_refund(session: AsyncSession, runtime: PaymentsRuntime, obj: dict[str, Any]) -> str:
    """Move a refund forward to what Stripe reports (never backwards). Returns the outcome."""
    refunds = RefundRepository(session)
    ledger = LedgerRepository(session)
    refund = None
    local_id = (obj.get("metadata") or {}).get("refund_id")
    if local_id:
        try:
            refund = await refunds.get(uuid.UUID(local_id), lock=True)
        except ValueError:
            refund = None
    if refund is None and obj.get("id"):
        refund = await refunds.by_stripe_id(obj["id"])
    new_status = STRIPE_STATUS.get(obj.get("status") or "", "pending")
    if refund is None:
        refund = await _adopt(session, runtime, obj, new_status)
        if refund is None:
            return "ignored"
    if refund.stripe_refund_id is None and obj.get("id"):
        refund.stripe_refund_id = obj["id"]
    if RANK[new_status] <= RANK[refund.status]:
        return "stale"
    refund.status = new_status
    obligation = await ObligationRepository(session).lock(refund.obligation_id)
    payment = await ledger.payment(refund.payment_id, lock=True)
    if obligation is None or payment is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("obligation or payment is missing")
    if new_status == "succeeded":
        refund.succeeded_at = datetime.now(UTC)
        await bus.publish_succeeded(session, runtime.writer, refund, payment, obligation)
    elif new_status in ("failed", "canceled"):
        refund.failure_reason = obj.get("failure_reason") or new_status
        await ledger.release_refund(payment.id, refund.amount)
        obligation.attention = f"A refund of {refund.amount} {refund.currency} {new_status}: {refund.failure_reason}."
    if new_status != "pending":
        ObligationRepository(session).audit(
            obligation,
            actor="stripe",
            action=f"refund_{new_status}",
            status_before=obligation.status,
            data={"refund_id": str(refund.id), "amount": refund.amount},
        )
    return "applied"


async def _adopt(session: AsyncSession, runtime: PaymentsRuntime, obj: dict[str, Any], status: str) -> Refund | None:
    """A refund made at Stripe directly (the dashboard): record it against our payment."""
    intent = obj.get("payment_intent")
    payment = await LedgerRepository(session).payment_by_intent(intent) if intent else None
    if payment is None or status in ("failed", "canceled"):
        return None
    obligation = await ObligationRepository(session).lock(payment.obligation_id)
    if obligation is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("obligation is missing")
    amount = int(obj.get("amount") or 0)
    if amount <= 0 or not await LedgerRepository(session).reserve_refund(payment.id, amount):
        obligation.attention = f"Stripe refund {obj.get('id')} exceeds what our ledger shows as refundable."
        return None
    refund = Refund(
        id=uuid.uuid4(),
        payment_id=payment.id,
        obligation_id=obligation.id,
        user_id=payment.user_id,
        amount=amount,
        currency=payment.currency,
        status="requested",
        origin="stripe",
        reason=obj.get("reason") or "Refunded at Stripe",
        requested_by="stripe",
        stripe_refund_id=obj.get("id"),
    )
    RefundRepository(session).add(refund)
    await session.flush()
    return refund


async def mark_failed(session: AsyncSession, runtime: PaymentsRuntime, refund_id: uuid.UUID, why: str) -> None:
    await apply_stripe_refund(
        session, runtime, {"metadata": {"refund_id": str(refund_id)}, "status": "failed", "failure_reason": why}
    )


async def list_for_payment(session: AsyncSession, payment_id: uuid.UUID) -> Sequence[Refund]:
    if await LedgerRepository(session).payment(payment_id) is None:
        raise PaymentNotFound("No such payment.")
    return await RefundRepository(session).for_payment(payment_id)


async def _refund_submitted(
    session: AsyncSession, runtime: PaymentsRuntime, task: StripeTask, result: dict[str, Any]
) -> str:
    return await apply_stripe_refund(session, runtime, result)


async def _refund_refused(
    session: AsyncSession, runtime: PaymentsRuntime, task: StripeTask, exc: StripeRejected
) -> None:
    await mark_failed(session, runtime, uuid.UUID(task.target), exc.detail)


# What the Stripe task runner does with task outcomes (tasks/service.py): refunds move on, and a
# task that failed for good flags its obligation. The worker runs tasks with these too (jobs.py).
TASK_REACTIONS = tasks.Reactions(
    done={"submit_refund": _refund_submitted},
    refused={"submit_refund": _refund_refused},
    gave_up=obligations.flag_task_failure,
)


async def for_payments(session: AsyncSession, payment_ids: Sequence[uuid.UUID]) -> Sequence[Refund]:
    """The refunds of these payments (for the member's history)."""
    return await RefundRepository(session).for_payments(payment_ids)
