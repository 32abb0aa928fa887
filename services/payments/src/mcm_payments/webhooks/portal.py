"""What a member does in Stripe's billing portal, as it reaches us through webhooks, and what it
means for his obligation (payments has no subscription model of its own beyond Stripe's: dues are
a monthly subscription, so the portal's actions map one to one):

- pause collection (`pause_collection` set) → the obligation is paused until `resumes_at`
  (`obligation.paused`, circles shows the membership's dues as paused);
- resume (`pause_collection` cleared) → the standing is recomputed (`obligation.settled` or
  `obligation.overdue` when it changes, as for a staff resume);
- cancel (`cancel_at_period_end`) → noted in the audit trail; the paid month runs to its end, and
  when the subscription ends the obligation is cancelled (`member_cancelled`,
  `obligation.cancelled`): no further dues; taking the cancellation back is noted too;
- new default card (`customer.updated`) → noted on the member's open recurring obligations; Stripe
  charges it from the next attempt on.

Only changes the event itself carries (`previous_attributes`) and that Stripe still reports now
are followed, and none while a change we decided ourselves (staff pause, resume, cancel) is still
to be carried out at Stripe: those events are our own changes coming back, or about to be overtaken.
An instalment plan (an event fee) is a debt for a seat, not dues: changing it in the portal is
flagged for staff rather than followed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mcm_payments.closing import service as closing
from mcm_payments.customers import service as customers
from mcm_payments.ledger.service import ts
from mcm_payments.obligations import bus, standing
from mcm_payments.obligations import service as obligations
from mcm_payments.obligations.models import TERMINAL, Obligation
from mcm_payments.tasks import service as stripe_tasks
from mcm_payments.webhooks.context import Context

# A pause without an end date (possible at Stripe) still needs one here: the longest staff may set.
OPEN_ENDED_PAUSE = timedelta(days=366)
MEMBER_CANCELLED = "member_cancelled"
PORTAL_FIELDS = ("pause_collection", "cancel_at_period_end")


def _audit(ctx: Context, obligation: Obligation, action: str, before: str, **data: Any) -> None:
    obligations.audit(
        ctx.session,
        obligation,
        actor="stripe",
        action=action,
        reason="billing portal",
        status_before=before,
        data={"event": ctx.event["id"], **data},
    )


async def follow_subscription(ctx: Context, obligation: Obligation, current: dict[str, Any]) -> None:
    """A live subscription changed at Stripe: follow a pause, resumption or cancellation."""
    previous: dict[str, Any] = ctx.event.get("data", {}).get("previous_attributes") or {}
    changed = [name for name in PORTAL_FIELDS if name in previous]
    if not changed or obligation.status in TERMINAL or current.get("status") == "canceled":
        return
    if await stripe_tasks.changing_subscription(ctx.session, obligation.id):
        return
    if obligation.kind != "membership":
        _flag_unexpected_plan_change(ctx, obligation, current, changed)
        return
    if "pause_collection" in previous and bool(current.get("pause_collection")) == bool(
        ctx.obj.get("pause_collection")
    ):
        await _follow_pause(ctx, obligation, current.get("pause_collection"))
    if "cancel_at_period_end" in previous and bool(current.get("cancel_at_period_end")) == bool(
        ctx.obj.get("cancel_at_period_end")
    ):
        ends_at = ts(current.get("cancel_at")) if current.get("cancel_at_period_end") else None
        action = "member_cancelled_dues" if current.get("cancel_at_period_end") else "member_kept_dues"
        _audit(ctx, obligation, action, obligation.status, ends_at=ends_at.isoformat() if ends_at else None)


def _flag_unexpected_plan_change(
    ctx: Context, obligation: Obligation, current: dict[str, Any], changed: list[str]
) -> None:
    """An instalment plan is paused only when staff paused the obligation, and set to end only
    once it is paid in full (our own changes, come back as events): anything else is flagged."""
    expected = {
        "pause_collection": obligation.status == "paused",
        "cancel_at_period_end": obligation.completed_at is not None,
    }
    unexpected = [name for name in changed if bool(current.get(name)) != expected[name]]
    if not unexpected:
        return
    obligation.attention = (
        f"The instalment plan was changed at Stripe ({', '.join(unexpected)}; the member's billing portal?): "
        "decide whether it stands."
    )
    _audit(ctx, obligation, "plan_changed_at_stripe", obligation.status, fields=unexpected)


async def _follow_pause(ctx: Context, obligation: Obligation, pause: dict[str, Any] | None) -> None:
    before = obligation.status
    if pause and before != "paused":
        until = ts(pause.get("resumes_at")) or datetime.now(UTC) + OPEN_ENDED_PAUSE
        obligation.status, obligation.paused_until = "paused", until
        await bus.publish_paused(ctx.session, ctx.runtime.writer, obligation, reason="paused by the member")
        _audit(ctx, obligation, "member_paused", before, until=until.isoformat())
    elif not pause and before == "paused":
        await standing.refresh(ctx.session, ctx.runtime, obligation, unpause=True)
        _audit(ctx, obligation, "member_resumed", before)


async def follow_subscription_end(ctx: Context, obligation: Obligation, current: dict[str, Any]) -> bool:
    """The member's dues subscription ended because he cancelled it: the obligation is cancelled
    (nothing more is owed or collected) and circles is told. False when it ended otherwise."""
    reason = (current.get("cancellation_details") or {}).get("reason")
    if obligation.kind != "membership" or obligation.status in TERMINAL or reason != "cancellation_requested":
        return False
    if await stripe_tasks.changing_subscription(ctx.session, obligation.id):
        return False
    before = await closing.close(ctx.session, obligation, reason=MEMBER_CANCELLED, at_period_end=False)
    await bus.publish_cancelled(ctx.session, ctx.runtime.writer, obligation)
    _audit(ctx, obligation, "member_dues_ended", before, subscription=current.get("id"))
    return True


async def customer_updated(ctx: Context) -> str:
    """`customer.updated`: a new default card is noted on the member's open recurring obligations."""
    previous: dict[str, Any] = ctx.event.get("data", {}).get("previous_attributes") or {}
    if "invoice_settings" not in previous:
        return "ignored"
    old = (previous.get("invoice_settings") or {}).get("default_payment_method")
    new = (ctx.obj.get("invoice_settings") or {}).get("default_payment_method")
    if not new or new == old:
        return "ignored"
    customer = await customers.by_stripe_id(ctx.session, ctx.obj["id"])
    if customer is None:
        return "unknown_customer"
    for obligation in await obligations.open_recurring_of_user(ctx.session, customer.user_id):
        _audit(ctx, obligation, "card_updated", obligation.status, payment_method=new)
    return "applied"
