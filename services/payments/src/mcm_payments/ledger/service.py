"""Turning Stripe objects into ledger rows (shared by webhook handlers and the task runner), and
the ledger reads other packages make (their way in, instead of the ledger's repository)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.ledger.models import Payment, Subscription
from mcm_payments.ledger.repository import LedgerRepository, Totals


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


# -- what other packages read of the ledger (their way in, instead of the repository) ----------


async def payments_of_user(
    session: AsyncSession, user_id: uuid.UUID, limit: int, after: tuple[datetime, uuid.UUID] | None
) -> Sequence[Payment]:
    """Up to `limit + 1` of the user's payments, newest first, after the keyset position `after`."""
    return await LedgerRepository(session).payments_of_user(user_id, limit, after)


async def subscriptions_of_user(session: AsyncSession, obligation_ids: Sequence[uuid.UUID]) -> Sequence[Subscription]:
    """The subscriptions of these obligations (a user's)."""
    return await LedgerRepository(session).subscriptions_of_user(obligation_ids)


async def totals(session: AsyncSession, obligation_id: uuid.UUID) -> Totals:
    """What was paid and billed for the obligation, from its ledger rows."""
    return await LedgerRepository(session).totals(obligation_id)


async def live_subscription(session: AsyncSession, obligation_id: uuid.UUID) -> Subscription | None:
    return await LedgerRepository(session).live_subscription(obligation_id)
