"""An obligation's standing, recomputed from the ledger after anything that moves money.

    billed  one-time: the price · recurring: every invoice paid or failed-and-open, or the
            first charge when nothing was invoiced yet
    due     max(0, billed - everything paid, card and offline)
    status  waived/cancelled/paused stay as they are; else settled when nothing is due,
            overdue when something is due and a charge failed, pending otherwise

Computing from the ledger (not from the order events arrived in) is what makes duplicate and
out-of-order webhooks harmless: the same facts always give the same standing.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger import service as ledger
from mcm_payments.obligations import bus
from mcm_payments.obligations.models import TERMINAL, Obligation
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks import service as stripe_tasks


def first_charge(obligation: Obligation) -> int:
    """What the first payment is: a month of dues, the whole fee, or the first instalment
    (which also carries the remainder when the price does not divide evenly)."""
    if obligation.instalments > 1:
        return obligation.amount // obligation.instalments + obligation.amount % obligation.instalments
    return obligation.amount


def instalment_amount(obligation: Obligation) -> int:
    return obligation.amount // obligation.instalments


async def refresh(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    obligation: Obligation,
    *,
    method: str = "card",
    unpause: bool = False,
) -> str:
    """Recompute and store the standing; publish what changed. Returns the status before.

    The caller holds the obligation's row lock. `unpause` ends a pause (the standing is then
    computed like any other).
    """
    totals = await ledger.totals(session, obligation.id)
    billed = (totals.billed_invoices or first_charge(obligation)) if obligation.is_recurring else obligation.amount
    due = max(0, billed - totals.paid)
    before = obligation.status
    now = datetime.now(UTC)
    obligation.amount_paid = totals.paid
    obligation.instalments_paid = totals.invoices_paid if obligation.is_recurring else int(due == 0)
    if before in TERMINAL:
        obligation.amount_due = 0
        return before
    obligation.amount_due = due
    if before != "paused" or unpause:
        obligation.paused_until = None
        obligation.status = "settled" if due == 0 else ("overdue" if totals.unpaid_failed else "pending")
    if obligation.status != before:
        if obligation.status == "settled":
            obligation.settled_at, obligation.overdue_since = now, None
            await bus.publish_settled(session, runtime.writer, obligation, method=method)
        elif obligation.status == "overdue":
            obligation.overdue_since = now
            await bus.publish_overdue(session, runtime.writer, obligation)
        else:
            obligation.overdue_since = None
    await _complete_if_done(session, obligation, due, now)
    return before


async def _complete_if_done(session: AsyncSession, obligation: Obligation, due: int, now: datetime) -> None:
    if obligation.completed_at is not None or due:
        return
    if obligation.kind == "registration" and obligation.instalments_paid >= obligation.instalments:
        obligation.completed_at = now
        if obligation.instalments > 1:
            # The plan is paid in full: no further invoice may be raised.
            subscription = await ledger.live_subscription(session, obligation.id)
            if subscription is not None and not subscription.cancel_at_period_end:
                stripe_tasks.enqueue(
                    session, "cancel_at_period_end", subscription.stripe_subscription_id, obligation_id=obligation.id
                )
