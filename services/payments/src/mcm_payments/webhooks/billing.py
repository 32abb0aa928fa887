"""Subscriptions and their invoices (dues and instalment plans)."""

from __future__ import annotations

from typing import Any

from mcm_payments.ledger.repository import LedgerRepository
from mcm_payments.ledger.service import (
    intent_of_invoice,
    subscription_id_of_invoice,
    subscription_metadata_of_invoice,
    sync_subscription,
    ts,
)
from mcm_payments.obligations import bus as obligation_bus
from mcm_payments.obligations import standing
from mcm_payments.obligations.models import TERMINAL, Obligation
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.stripe_api import StripeRejected
from mcm_payments.webhooks import portal
from mcm_payments.webhooks.context import Context
from mcm_payments.webhooks.payments import record_card_payment


async def _obligation_of_subscription(
    ctx: Context, subscription_id: str, metadata: dict[str, Any]
) -> Obligation | None:
    known = await LedgerRepository(ctx.session).subscription(subscription_id)
    if known is not None:
        return await ObligationRepository(ctx.session).lock(known.obligation_id)
    return await ctx.owner(metadata.get("obligation_id"))


async def _invoice_obligation(ctx: Context) -> tuple[Obligation | None, str]:
    subscription_id = subscription_id_of_invoice(ctx.obj)
    if not subscription_id:
        return None, "ignored"  # a one-off invoice: not something payments creates
    obligation = await _obligation_of_subscription(ctx, subscription_id, subscription_metadata_of_invoice(ctx.obj))
    if obligation is None:
        return None, "unknown_obligation"
    if not await ctx.customer_matches(obligation):
        return None, "mismatch"
    return obligation, "applied"


def _invoice_values(invoice: dict[str, Any]) -> dict[str, Any]:
    return {
        "stripe_subscription_id": subscription_id_of_invoice(invoice),
        "amount_due": int(invoice.get("amount_due") or 0),
        "currency": (invoice.get("currency") or "").upper(),
        "number": invoice.get("number"),
        "hosted_invoice_url": invoice.get("hosted_invoice_url"),
        "period_start": ts(invoice.get("period_start")),
        "period_end": ts(invoice.get("period_end")),
    }


async def invoice_paid(ctx: Context) -> str:
    obligation, outcome = await _invoice_obligation(ctx)
    if obligation is None:
        return outcome
    invoice = ctx.obj
    paid_at = ts((invoice.get("status_transitions") or {}).get("paid_at")) or ts(ctx.created)
    await LedgerRepository(ctx.session).upsert_invoice(
        obligation_id=obligation.id,
        stripe_invoice_id=invoice["id"],
        status="paid",
        paid_at=paid_at,
        paid_out_of_band=bool(invoice.get("paid_out_of_band")),
        **_invoice_values(invoice),
    )
    amount = int(invoice.get("amount_paid") or 0)
    if invoice.get("paid_out_of_band") or amount <= 0:
        # Settled outside Stripe (our offline payment, marked paid there afterwards).
        before = await standing.refresh(ctx.session, ctx.runtime, obligation, method="offline")
        if before != obligation.status:
            ObligationRepository(ctx.session).audit(
                obligation,
                actor="stripe",
                action="invoice_paid_out_of_band",
                status_before=before,
                data={"invoice": invoice["id"]},
            )
        return "applied"
    await record_card_payment(
        ctx,
        obligation,
        intent_id=intent_of_invoice(invoice),
        amount=amount,
        currency=invoice.get("currency") or obligation.currency,
        invoice=invoice,
    )
    return "applied"


async def invoice_failed(ctx: Context) -> str:
    obligation, outcome = await _invoice_obligation(ctx)
    if obligation is None:
        return outcome
    invoice = ctx.obj
    stored = await LedgerRepository(ctx.session).upsert_invoice(
        obligation_id=obligation.id,
        stripe_invoice_id=invoice["id"],
        status="open",
        attempted=True,
        failed_at=ts(ctx.created),
        **_invoice_values(invoice),
    )
    if stored is None:
        return "stale"  # the invoice was paid (or voided) meanwhile: this failure is history
    before = await standing.refresh(ctx.session, ctx.runtime, obligation)
    ObligationRepository(ctx.session).audit(
        obligation,
        actor="stripe",
        action="payment_failed",
        status_before=before,
        data={"invoice": invoice["id"], "amount_due": stored.amount_due, "attempt": invoice.get("attempt_count")},
    )
    await obligation_bus.publish_payment_failed(
        ctx.session, ctx.runtime.writer, obligation, attempt=invoice.get("attempt_count")
    )
    return "applied"


async def subscription_changed(ctx: Context) -> str:
    snapshot = ctx.obj
    obligation = await _obligation_of_subscription(ctx, snapshot["id"], snapshot.get("metadata") or {})
    if obligation is None:
        return "unknown_obligation"
    if not await ctx.customer_matches(obligation):
        return "mismatch"
    try:
        # Events can arrive in any order; what Stripe says now is never older than the event.
        current: dict[str, Any] | None = await ctx.runtime.stripe.retrieve_subscription(snapshot["id"])
    except StripeRejected:
        current = snapshot if ctx.event["type"] == "customer.subscription.deleted" else None
    if current is None:
        return "ignored"
    await sync_subscription(ctx.session, obligation.id, current)
    if current.get("status") == "canceled" and await portal.follow_subscription_end(ctx, obligation, current):
        return "applied"
    await portal.follow_subscription(ctx, obligation, current)
    if current.get("status") == "canceled" and obligation.status not in TERMINAL and obligation.completed_at is None:
        obligation.attention = "The Stripe subscription has ended; nothing more will be collected automatically."
        ObligationRepository(ctx.session).audit(
            obligation,
            actor="stripe",
            action="subscription_ended",
            status_before=obligation.status,
            data={"subscription": snapshot["id"]},
        )
    return "applied"
