"""Turning Stripe objects into ledger rows (shared by webhook handlers and the task runner)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.models import Subscription
from mcm_payments.ledger.repository import LedgerRepository


def ts(value: Any) -> datetime | None:
    """Stripe's unix seconds as an aware UTC datetime."""
    if value in (None, ""):
        return None
    return datetime.fromtimestamp(int(value), UTC)


def period_end(sub: dict[str, Any]) -> datetime | None:
    # Newer API versions keep the period on the items; older ones on the subscription.
    items = (sub.get("items") or {}).get("data") or []
    value = sub.get("current_period_end") or (items[0].get("current_period_end") if items else None)
    return ts(value)


def subscription_id_of_invoice(invoice: dict[str, Any]) -> str | None:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return details.get("subscription") or invoice.get("subscription")


def subscription_metadata_of_invoice(invoice: dict[str, Any]) -> dict[str, Any]:
    parent = invoice.get("parent") or {}
    details = parent.get("subscription_details") or {}
    return details.get("metadata") or invoice.get("subscription_details", {}).get("metadata") or {}


def intent_of_invoice(invoice: dict[str, Any]) -> str | None:
    intent: str | None = invoice.get("payment_intent")
    if intent:
        return intent
    for payment in (invoice.get("payments") or {}).get("data") or []:
        paid_with: str | None = (payment.get("payment") or {}).get("payment_intent")
        if paid_with:
            return paid_with
    return None


async def sync_subscription(
    session: AsyncSession, obligation_id: uuid.UUID, sub: dict[str, Any]
) -> Subscription | None:
    """Mirror a subscription as Stripe reports it now (callers pass a fresh retrieve, not an
    event snapshot, so an old event cannot roll the mirror back)."""
    return await LedgerRepository(session).upsert_subscription(
        obligation_id=obligation_id,
        stripe_subscription_id=sub["id"],
        status=sub.get("status") or "incomplete",
        current_period_end=period_end(sub),
        cancel_at_period_end=bool(sub.get("cancel_at_period_end")),
        canceled_at=ts(sub.get("canceled_at")),
        paused=bool(sub.get("pause_collection")),
    )
