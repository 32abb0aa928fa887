"""Checkout Sessions and one-time payments (payment mode)."""

from __future__ import annotations

from typing import Any

from mcm_payments.checkout import service as checkout_service
from mcm_payments.ledger.models import Payment
from mcm_payments.ledger.repository import LedgerRepository
from mcm_payments.ledger.service import sync_subscription, ts
from mcm_payments.obligations import standing
from mcm_payments.obligations.models import TERMINAL, Obligation
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.refunds import service as refunds
from mcm_payments.webhooks.context import Context


def _obligation_ref(obj: dict[str, Any]) -> Any:
    return (obj.get("metadata") or {}).get("obligation_id") or obj.get("client_reference_id")


async def session_completed(ctx: Context) -> str:
    session_obj = ctx.obj
    await checkout_service.mark_session(ctx.session, session_obj["id"], "complete")
    obligation = await ctx.owner(_obligation_ref(session_obj))
    if obligation is None:
        return "unknown_obligation"
    if not await ctx.customer_matches(obligation):
        return "mismatch"
    if session_obj.get("mode") == "subscription" and session_obj.get("subscription"):
        # Link the subscription now (fresh from Stripe), whatever order its own events come in.
        await sync_subscription(
            ctx.session, obligation.id, await ctx.runtime.stripe.retrieve_subscription(session_obj["subscription"])
        )
        return "applied"
    if session_obj.get("payment_status") == "paid" and session_obj.get("payment_intent"):
        await record_card_payment(
            ctx,
            obligation,
            intent_id=session_obj["payment_intent"],
            amount=int(session_obj.get("amount_total") or 0),
            currency=session_obj.get("currency") or obligation.currency,
        )
    return "applied"


async def session_expired(ctx: Context) -> str:
    await checkout_service.mark_session(ctx.session, ctx.obj["id"], "expired")
    return "applied"


async def intent_succeeded(ctx: Context) -> str:
    intent = ctx.obj
    reference = (intent.get("metadata") or {}).get("obligation_id")
    if not reference:
        return "ignored"  # an invoice's payment: invoice.paid is the event that counts
    obligation = await ctx.owner(reference)
    if obligation is None:
        return "unknown_obligation"
    if not await ctx.customer_matches(obligation):
        return "mismatch"
    await record_card_payment(
        ctx,
        obligation,
        intent_id=intent["id"],
        amount=int(intent.get("amount_received") or intent.get("amount") or 0),
        currency=intent.get("currency") or obligation.currency,
    )
    return "applied"


async def intent_failed(ctx: Context) -> str:
    intent = ctx.obj
    reference = (intent.get("metadata") or {}).get("obligation_id")
    if not reference:
        return "ignored"
    obligation = await ctx.owner(reference)
    if obligation is None:
        return "unknown_obligation"
    # A declined card at checkout: the member is still on the payment page and can try again,
    # so the standing does not change; staff see the attempt in the audit trail.
    error = intent.get("last_payment_error") or {}
    ObligationRepository(ctx.session).audit(
        obligation,
        actor="stripe",
        action="payment_failed",
        status_before=obligation.status,
        reason=error.get("message"),
        data={"payment_intent": intent.get("id"), "code": error.get("code")},
    )
    return "applied"


async def record_card_payment(
    ctx: Context,
    obligation: Obligation,
    *,
    intent_id: str | None,
    amount: int,
    currency: str,
    invoice: dict[str, Any] | None = None,
) -> Payment | None:
    """Record a card payment once (unique Stripe ids) and refresh the obligation's standing."""
    if amount <= 0:
        return None
    paid_at = ts((invoice or {}).get("status_transitions", {}).get("paid_at")) or ts(ctx.created)
    payment = await LedgerRepository(ctx.session).record_payment(
        obligation_id=obligation.id,
        user_id=obligation.user_id,
        source="stripe",
        method="card",
        amount=amount,
        currency=currency.upper(),
        stripe_payment_intent_id=intent_id,
        stripe_invoice_id=(invoice or {}).get("id"),
        receipt_number=(invoice or {}).get("number"),
        receipt_url=(invoice or {}).get("hosted_invoice_url"),
        paid_at=paid_at,
    )
    if payment is None:
        return None  # already recorded from another event about the same payment
    before = await standing.refresh(ctx.session, ctx.runtime, obligation)
    ObligationRepository(ctx.session).audit(
        obligation,
        actor="stripe",
        action="payment_received",
        status_before=before,
        data={"payment_id": str(payment.id), "amount": amount, "stripe_event": ctx.event["id"]},
    )
    if obligation.status in TERMINAL:
        await _paid_after_closing(ctx, obligation, payment)
    return payment


# Registration obligations closed for these reasons are refunded when money still arrives (the
# member paid on a checkout page that was open when it closed); anything else is left to staff.
REFUND_LATE_PAYMENT = {
    "event_cancelled": "Paid after the event was cancelled",
    "registration_expired": "Paid after the seat hold expired",
    "registration_cancelled": "Paid after the registration was cancelled",
}


async def _paid_after_closing(ctx: Context, obligation: Obligation, payment: Payment) -> None:
    reason = REFUND_LATE_PAYMENT.get(obligation.cancel_reason or "") if obligation.status == "cancelled" else None
    if reason is not None:
        await refunds.refund_in_full(
            ctx.session,
            ctx.runtime,
            obligation,
            payment,
            origin="cancelled_obligation",
            reason=reason,
            requested_by="system",
        )
    else:
        obligation.attention = (
            f"A payment of {payment.amount} {payment.currency} arrived after the obligation was {obligation.status}."
        )
