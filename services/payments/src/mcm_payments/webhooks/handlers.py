"""Which Stripe event does what. Every handler is idempotent and never moves state backwards;
each returns an outcome recorded on the inbox row:

applied · ignored (not ours, or a type we do not act on) · stale (older than what we know) ·
unknown_customer / unknown_obligation / mismatch (stored and flagged, nothing granted).
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers.repository import CustomerRepository
from mcm_payments.obligations.models import Obligation
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.refunds import service as refunds
from mcm_payments.runtime import PaymentsRuntime


@dataclass
class Context:
    session: AsyncSession
    runtime: PaymentsRuntime
    event: dict[str, Any]

    @property
    def obj(self) -> dict[str, Any]:
        return self.event["data"]["object"]

    @property
    def created(self) -> int:
        return int(self.event["created"])

    async def owner(self, obligation_id: Any) -> Obligation | None:
        """The obligation named in our metadata, row-locked; None if it is not one of ours."""
        try:
            parsed = uuid.UUID(str(obligation_id))
        except ValueError:
            return None
        return await ObligationRepository(self.session).lock(parsed)

    async def customer_matches(self, obligation: Obligation) -> bool:
        customer_id = self.obj.get("customer")
        if not customer_id:
            return True
        customer = await CustomerRepository(self.session).by_stripe_id(customer_id)
        return customer is not None and customer.user_id == obligation.user_id


Handler = Callable[[Context], Awaitable[str]]


def _registry() -> dict[str, Handler]:
    from mcm_payments.webhooks import billing, payments

    async def refund(ctx: Context) -> str:
        return await refunds.apply_stripe_refund(ctx.session, ctx.runtime, ctx.obj)

    async def charge_refunded(ctx: Context) -> str:
        outcomes = [
            await refunds.apply_stripe_refund(ctx.session, ctx.runtime, item)
            for item in (ctx.obj.get("refunds") or {}).get("data") or []
        ]
        return "applied" if "applied" in outcomes else (outcomes[0] if outcomes else "ignored")

    return {
        "checkout.session.completed": payments.session_completed,
        "checkout.session.expired": payments.session_expired,
        "payment_intent.succeeded": payments.intent_succeeded,
        "payment_intent.payment_failed": payments.intent_failed,
        "invoice.paid": billing.invoice_paid,
        "invoice.payment_failed": billing.invoice_failed,
        "customer.subscription.created": billing.subscription_changed,
        "customer.subscription.updated": billing.subscription_changed,
        "customer.subscription.deleted": billing.subscription_changed,
        "charge.refunded": charge_refunded,
        "refund.created": refund,
        "refund.updated": refund,
    }


_HANDLERS: dict[str, Handler] | None = None


def handled_types() -> frozenset[str]:
    return frozenset(_handlers())


def _handlers() -> dict[str, Handler]:
    global _HANDLERS
    if _HANDLERS is None:
        _HANDLERS = _registry()
    return _HANDLERS


async def dispatch(session: AsyncSession, runtime: PaymentsRuntime, event: dict[str, Any]) -> str:
    handler = _handlers().get(event.get("type", ""))
    if handler is None:
        return "ignored"
    ctx = Context(session, runtime, event)
    customer_id = ctx.obj.get("customer")
    if isinstance(customer_id, str) and await CustomerRepository(session).by_stripe_id(customer_id) is None:
        return "unknown_customer"
    return await handler(ctx)
