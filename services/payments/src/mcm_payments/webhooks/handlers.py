"""Which Stripe event does what. Every handler is idempotent and never moves state backwards;
each returns an outcome recorded on the inbox row:

applied · ignored (not ours, or a type we do not act on) · stale (older than what we know) ·
unknown_customer / unknown_obligation / mismatch (stored and flagged, nothing granted).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers import service as customers
from mcm_payments.refunds import service as refunds
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.webhooks import billing, payments, portal
from mcm_payments.webhooks.context import Context, Handler


async def refund(ctx: Context) -> str:
    return await refunds.apply_stripe_refund(ctx.session, ctx.runtime, ctx.obj)


async def charge_refunded(ctx: Context) -> str:
    outcomes = [
        await refunds.apply_stripe_refund(ctx.session, ctx.runtime, item)
        for item in (ctx.obj.get("refunds") or {}).get("data") or []
    ]
    return "applied" if "applied" in outcomes else (outcomes[0] if outcomes else "ignored")


# Which Stripe event type is handled by what; a constant table (billing.py, payments.py and
# portal.py hold the handlers and import only webhooks/context.py, so nothing here is built lazily).
HANDLERS: Mapping[str, Handler] = MappingProxyType(
    {
        "checkout.session.completed": payments.session_completed,
        "checkout.session.expired": payments.session_expired,
        "payment_intent.succeeded": payments.intent_succeeded,
        "payment_intent.payment_failed": payments.intent_failed,
        "invoice.paid": billing.invoice_paid,
        "invoice.payment_failed": billing.invoice_failed,
        "customer.subscription.created": billing.subscription_changed,
        "customer.subscription.updated": billing.subscription_changed,
        "customer.subscription.deleted": billing.subscription_changed,
        "customer.updated": portal.customer_updated,
        "charge.refunded": charge_refunded,
        "refund.created": refund,
        "refund.updated": refund,
    }
)


def handled_types() -> frozenset[str]:
    return frozenset(HANDLERS)


async def dispatch(session: AsyncSession, runtime: PaymentsRuntime, event: dict[str, Any]) -> str:
    handler = HANDLERS.get(event.get("type", ""))
    if handler is None:
        return "ignored"
    ctx = Context(session, runtime, event)
    customer_id = ctx.obj.get("customer")
    if isinstance(customer_id, str) and await customers.by_stripe_id(session, customer_id) is None:
        return "unknown_customer"
    return await handler(ctx)
