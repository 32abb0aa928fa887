"""Starting a payment: a Stripe Checkout Session for the member's own obligation.

Subscription mode for dues and instalment plans (monthly price; an uneven remainder is a
one-time line on the first invoice), payment mode for one-time fees. At most one open session
per obligation (reused while it is valid, and a partial unique index in the database), and
`Idempotency-Key` replays the first answer.

A stored customer Stripe no longer knows (deleted in the dashboard; the stand-in restarted) makes
Stripe refuse the session with `resource_missing` on `customer`: the customer is replaced
(`customers.service.replace_missing`) and the session created once more.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments import idempotency
from mcm_payments.checkout.errors import CollectionPaused, PaymentInProgress
from mcm_payments.checkout.models import CheckoutSession
from mcm_payments.checkout.repository import CheckoutRepository
from mcm_payments.checkout.schemas import Checkout
from mcm_payments.customers.service import ensure_customer, replace_missing
from mcm_payments.ledger.repository import LedgerRepository
from mcm_payments.ledger.service import ts
from mcm_payments.obligations.errors import NothingDue, ObligationClosed, ObligationNotFound
from mcm_payments.obligations.models import TERMINAL, Obligation
from mcm_payments.obligations.repository import ObligationRepository
from mcm_payments.obligations.standing import instalment_amount
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.stripe_api import StripeRejected
from mcm_shared.security import Principal

SCOPE = "checkout"
# A session about to expire is not handed out again.
REUSE_MARGIN = timedelta(minutes=5)
PRODUCT_NAMES = {"membership": "Circle dues", "registration": "Event registration"}


async def start(
    session: AsyncSession, runtime: PaymentsRuntime, principal: Principal, *, obligation_id: uuid.UUID, key: str | None
) -> Checkout:
    key = idempotency.validate_key(key)
    digest = idempotency.request_hash({"obligation_id": str(obligation_id)})
    if (stored := await idempotency.replay(session, SCOPE, principal.subject, key, digest)) is not None:
        return Checkout.model_validate(stored)
    obligations = ObligationRepository(session)
    obligation = await obligations.get(obligation_id)
    if obligation is None or principal.user_id is None or obligation.user_id != principal.user_id:
        raise ObligationNotFound("No such obligation.")
    _check_payable(obligation)  # before creating a Stripe customer for nothing
    customer_id = await ensure_customer(session, runtime, principal.user_id)
    try:
        return await _start_locked(session, runtime, principal, obligation_id, customer_id, key, digest)
    except StripeRejected as exc:
        if not exc.is_missing("customer"):
            raise
    # Stripe no longer knows the customer: drop what this attempt did (and the obligation's lock),
    # link a new customer, and try once more.
    await session.rollback()
    customer_id = await replace_missing(session, runtime, principal.user_id, customer_id)
    return await _start_locked(session, runtime, principal, obligation_id, customer_id, key, digest)


async def _start_locked(
    session: AsyncSession,
    runtime: PaymentsRuntime,
    principal: Principal,
    obligation_id: uuid.UUID,
    customer_id: str,
    key: str | None,
    digest: str,
) -> Checkout:
    obligation = await ObligationRepository(session).lock(obligation_id)
    if obligation is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("obligation is missing")
    # A request with the same key may have finished while we waited for the lock.
    if (stored := await idempotency.replay(session, SCOPE, principal.subject, key, digest)) is not None:
        return Checkout.model_validate(stored)
    checkout = await _checkout_for(session, runtime, obligation, customer_id, key)
    await idempotency.remember(session, SCOPE, principal.subject, key, digest, checkout.model_dump(mode="json"))
    await session.commit()
    return checkout


def _check_payable(obligation: Obligation) -> None:
    if obligation.status in TERMINAL:
        raise ObligationClosed(f"This obligation is {obligation.status}; nothing can be paid on it.")
    if obligation.status == "paused":
        raise CollectionPaused("Collection is paused for this obligation; contact support to pay now.")
    if obligation.status == "settled":
        raise NothingDue("Nothing is due on this obligation.")


async def _checkout_for(
    session: AsyncSession, runtime: PaymentsRuntime, obligation: Obligation, customer_id: str, key: str | None
) -> Checkout:
    _check_payable(obligation)
    ledger = LedgerRepository(session)
    failed = await ledger.unpaid_failed_invoices(obligation.id)
    if failed and failed[0].hosted_invoice_url:
        return Checkout(url=failed[0].hosted_invoice_url, mode="invoice", obligation_id=obligation.id)
    if obligation.is_recurring and await ledger.live_subscription(obligation.id) is not None:
        raise PaymentInProgress("A subscription for this obligation is already being set up.")
    sessions = CheckoutRepository(session)
    await sessions.expire_lapsed(obligation.id)
    now = datetime.now(UTC)
    for existing in await sessions.open_for(obligation.id):
        if existing.expires_at > now + REUSE_MARGIN:
            return Checkout(
                url=existing.url,
                mode=existing.mode,
                session_id=existing.stripe_session_id,
                expires_at=existing.expires_at,
                obligation_id=obligation.id,
            )
        existing.status = "expired"  # about to lapse: let it, and open a fresh one
    await session.flush()
    params = _params(runtime, obligation, customer_id)
    created = await runtime.stripe.create_checkout_session(params, _stripe_key(obligation, customer_id, key))
    row = CheckoutSession(
        id=uuid.uuid4(),
        obligation_id=obligation.id,
        user_id=obligation.user_id,
        stripe_session_id=created["id"],
        url=created["url"],
        mode=params["mode"],
        status="open",
        expires_at=ts(created["expires_at"]) or now + timedelta(hours=24),
    )
    sessions.add(row)
    return Checkout(
        url=row.url,
        mode=row.mode,
        session_id=row.stripe_session_id,
        expires_at=row.expires_at,
        obligation_id=obligation.id,
    )


def _stripe_key(obligation: Obligation, customer_id: str, key: str | None) -> str:
    """Stripe's idempotency key for the session: the same client key gives the same session, and a
    new customer (after Stripe lost the old one) a new request. At most 255 characters, as Stripe wants."""
    part = key or str(uuid.uuid4())
    stripe_key = f"checkout:{obligation.id}:{customer_id}:{part}"
    if len(stripe_key) > 255:
        stripe_key = f"checkout:{obligation.id}:{customer_id}:sha256:{hashlib.sha256(part.encode()).hexdigest()}"
    return stripe_key


def _price(obligation: Obligation, amount: int, *, recurring: bool, name: str) -> dict[str, Any]:
    data: dict[str, Any] = {
        "currency": obligation.currency.lower(),
        "unit_amount": amount,
        "product_data": {"name": name},
    }
    if recurring:
        data["recurring"] = {"interval": "month"}
    return {"price_data": data, "quantity": 1}


def _params(runtime: PaymentsRuntime, obligation: Obligation, customer_id: str) -> dict[str, Any]:
    metadata = {"obligation_id": str(obligation.id), "user_id": str(obligation.user_id), "kind": obligation.kind}
    name = PRODUCT_NAMES[obligation.kind]
    params: dict[str, Any] = {
        "customer": customer_id,
        "client_reference_id": str(obligation.id),
        "metadata": metadata,
        "success_url": runtime.settings.checkout_success_url,
        "cancel_url": runtime.settings.checkout_cancel_url,
    }
    if not obligation.is_recurring:
        params.update(
            mode="payment",
            line_items=[_price(obligation, obligation.amount, recurring=False, name=name)],
            payment_intent_data={"metadata": metadata},
        )
        return params
    if obligation.instalments > 1:
        name = f"{name} — {obligation.instalments} monthly instalments"
        items = [_price(obligation, instalment_amount(obligation), recurring=True, name=name)]
        remainder = obligation.amount % obligation.instalments
        if remainder:
            items.append(
                _price(obligation, remainder, recurring=False, name=f"{PRODUCT_NAMES[obligation.kind]} — rounding")
            )
    else:
        items = [_price(obligation, obligation.amount, recurring=True, name=name)]
    params.update(
        mode="subscription",
        line_items=items,
        subscription_data={"metadata": {**metadata, "instalments": str(obligation.instalments)}},
    )
    return params


async def open_sessions(session: AsyncSession, obligation_id: uuid.UUID) -> Sequence[CheckoutSession]:
    """The obligation's checkout sessions still open (to expire when it is closed)."""
    return await CheckoutRepository(session).open_for(obligation_id)


async def mark_session(session: AsyncSession, stripe_session_id: str, status: str) -> None:
    """Record what Stripe says became of a checkout session (completed, expired)."""
    await CheckoutRepository(session).mark(stripe_session_id, status)
