"""Obligations: created from circles' events, read by their owner (and staff), closed when the
membership ends or an unpaid registration's seat hold expires. Each use case commits once;
consumer handlers never commit (the consumer commits their work together with the inbox row)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments import cursors
from mcm_payments.checkout.repository import CheckoutRepository
from mcm_payments.ledger.repository import LedgerRepository
from mcm_payments.obligations import events
from mcm_payments.obligations.errors import ObligationNotFound
from mcm_payments.obligations.models import TERMINAL, Obligation, ObligationAudit
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.obligations.standing import first_charge
from mcm_payments.roles import can_read_any_obligation
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks.repository import TaskRepository
from mcm_shared.events import Envelope
from mcm_shared.security import Principal


async def list_mine(
    session: AsyncSession, principal: Principal, *, limit: int, cursor: str | None
) -> tuple[Sequence[Obligation], str | None]:
    if principal.user_id is None:
        return [], None
    rows = await ObligationRepository(session).list_for_user(principal.user_id, limit, cursors.after(cursor))
    return cursors.page(rows, limit, lambda o: (o.created_at, o.id))


async def get_visible(session: AsyncSession, principal: Principal, obligation_id: uuid.UUID) -> Obligation:
    """The obligation if the caller owns it or is payment staff; 404 otherwise (never 403: no probing)."""
    obligation = await ObligationRepository(session).get(obligation_id)
    if obligation is None or (obligation.user_id != principal.user_id and not can_read_any_obligation(principal)):
        raise ObligationNotFound("No such obligation.")
    return obligation


async def audit_trail(
    session: AsyncSession, obligation_id: uuid.UUID, *, limit: int, cursor: str | None
) -> tuple[Sequence[ObligationAudit], str | None]:
    repository = ObligationRepository(session)
    if await repository.get(obligation_id) is None:
        raise ObligationNotFound("No such obligation.")
    rows = await repository.audit_trail(obligation_id, limit, cursors.after(cursor))
    return cursors.page(rows, limit, lambda entry: (entry.created_at, entry.id))


# -- consumed events ---------------------------------------------------------------------------
async def on_membership_payment_required(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = events.parse(events.MembershipPaymentRequired, envelope)
    await _create(
        session,
        envelope,
        kind="membership",
        source_id=data.membership_id,
        context_id=data.circle_id,
        user_id=data.user_id,
        amount=data.amount,
        currency=data.currency.upper(),
        interval=data.interval,
        instalments=1,
    )


async def on_registration_payment_required(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = events.parse(events.RegistrationPaymentRequired, envelope)
    if data.amount < data.instalments:
        raise ValueError("amount is smaller than the number of instalments")
    await _create(
        session,
        envelope,
        kind="registration",
        source_id=data.registration_id,
        context_id=data.event_id,
        user_id=data.user_id,
        amount=data.amount,
        currency=data.currency.upper(),
        interval="month" if data.instalments > 1 else None,
        instalments=data.instalments,
    )


async def _create(session: AsyncSession, envelope: Envelope, **values) -> None:
    probe = Obligation(**{k: values[k] for k in ("kind", "amount", "instalments")})
    repository = ObligationRepository(session)
    obligation = await repository.insert_if_absent(status="pending", amount_due=first_charge(probe), **values)
    if obligation is not None:
        repository.audit(
            obligation,
            actor=f"svc:{envelope.producer}",
            action="created",
            data={"event_id": str(envelope.id), "event": envelope.type},
        )


async def on_membership_ended(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = events.parse(events.MembershipEnded, envelope)
    repository = ObligationRepository(session)
    obligation = await repository.lock_by_source("membership", data.membership_id)
    if obligation is None:
        return  # a circle without dues
    before = await close(session, obligation, reason="membership_ended", at_period_end=True)
    repository.audit(
        obligation,
        actor=f"svc:{envelope.producer}",
        action="membership_ended",
        reason=data.reason,
        status_before=before,
        data={"event_id": str(envelope.id)},
    )


async def on_registration_expired(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    """An unpaid seat hold ran out: the fee can no longer be paid.

    Only an obligation nothing was paid on is cancelled (its open checkout expired at Stripe, any
    subscription cancelled now). When money already arrived, circles got `obligation.settled`
    and decides (a free seat confirms the registration, otherwise `registration.cancelled` with
    `refund: full` follows), so the obligation is left as it is. A payment that lands after the
    cancellation is refunded automatically (webhooks/payments.py). Repeats change nothing.
    """
    data = events.parse(events.RegistrationExpired, envelope)
    repository = ObligationRepository(session)
    obligation = await repository.lock_by_source("registration", data.registration_id)
    if obligation is None or obligation.status in TERMINAL:
        return  # never owed anything here, or already closed (a repeat, the event was cancelled, …)
    actor = f"svc:{envelope.producer}"
    paid = (await LedgerRepository(session).totals(obligation.id)).paid
    if paid > 0:
        if obligation.status != "settled":
            obligation.attention = (
                f"The seat hold expired after {paid} {obligation.currency} of {obligation.amount} was paid; "
                "settle the rest or refund it."
            )
        repository.audit(
            obligation,
            actor=actor,
            action="registration_expired",
            reason="paid before the hold expired: kept",
            status_before=obligation.status,
            data={"event_id": str(envelope.id), "amount_paid": paid},
        )
        return
    before = await close(session, obligation, reason="registration_expired", at_period_end=False)
    repository.audit(
        obligation,
        actor=actor,
        action="registration_expired",
        status_before=before,
        data={"event_id": str(envelope.id)},
    )


async def close(
    session: AsyncSession, obligation: Obligation, *, reason: str, at_period_end: bool, status: str = "cancelled"
) -> str:
    """Stop collecting: cancel the subscription (now, or at the end of the paid period) and
    expire any open checkout, so nothing more can be paid. Returns the status before."""
    before = obligation.status
    if before in TERMINAL:
        return before
    obligation.status, obligation.amount_due = status, 0
    obligation.paused_until = None
    if status == "cancelled":
        obligation.cancel_reason = reason
    tasks = TaskRepository(session)
    subscription = await LedgerRepository(session).live_subscription(obligation.id)
    if subscription is not None:
        tasks.enqueue(
            "cancel_at_period_end" if at_period_end else "cancel_subscription",
            subscription.stripe_subscription_id,
            obligation_id=obligation.id,
        )
    for checkout in await CheckoutRepository(session).open_for(obligation.id):
        tasks.enqueue("expire_checkout_session", checkout.stripe_session_id, obligation_id=obligation.id)
    return before
