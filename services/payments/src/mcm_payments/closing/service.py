"""Closing obligations: stop collecting (cancel the subscription, expire any open checkout) when
the membership ends, an unpaid registration's seat hold expires, or staff waive or refunds cancel.

Its own package because it reaches into both obligations and checkout (checkout sits above
obligations: it pays them), and refunds and interventions close obligations through it.
Consumer handlers never commit (the consumer commits their work together with the inbox row)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.checkout import service as checkout_service
from mcm_payments.ledger import service as ledger
from mcm_payments.obligations import bus
from mcm_payments.obligations.models import TERMINAL, Obligation
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks import service as stripe_tasks
from mcm_shared.events import Envelope


async def on_membership_ended(session: AsyncSession, runtime: PaymentsRuntime, envelope: Envelope) -> None:
    data = bus.parse(bus.MembershipEnded, envelope)
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
    data = bus.parse(bus.RegistrationExpired, envelope)
    repository = ObligationRepository(session)
    obligation = await repository.lock_by_source("registration", data.registration_id)
    if obligation is None or obligation.status in TERMINAL:
        return  # never owed anything here, or already closed (a repeat, the event was cancelled, …)
    actor = f"svc:{envelope.producer}"
    paid = (await ledger.totals(session, obligation.id)).paid
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
    subscription = await ledger.live_subscription(session, obligation.id)
    if subscription is not None:
        stripe_tasks.enqueue(
            session,
            "cancel_at_period_end" if at_period_end else "cancel_subscription",
            subscription.stripe_subscription_id,
            obligation_id=obligation.id,
        )
    for checkout in await checkout_service.open_sessions(session, obligation.id):
        stripe_tasks.enqueue(
            session, "expire_checkout_session", checkout.stripe_session_id, obligation_id=obligation.id
        )
    return before
