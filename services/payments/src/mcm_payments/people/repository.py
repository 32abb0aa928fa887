"""One person's rows across payments' tables: read for the overview and export, and the personal
fields pseudonymised on erasure.

This is the one module that reaches into several packages' tables (through their models, never
their repositories): a person's data is a cross-cutting question, and keeping every personal
field in one place is what lets docs/privacy.md be checked against the code. Amounts, statuses,
dates and Stripe object ids are never touched, so the ledger stays balanced.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import String, cast, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.checkout.models import CheckoutSession
from mcm_payments.customers.models import Customer
from mcm_payments.ledger.models import Invoice, Payment
from mcm_payments.obligations.models import Obligation, ObligationAudit
from mcm_payments.refunds.models import Refund
from mcm_payments.webhooks.models import WebhookEvent

ERASED = "(erased)"
# Keys of Stripe objects that carry a person's details (contact, address, free text).
PERSONAL_STRIPE_KEYS = frozenset(
    {
        "address",
        "billing_details",
        "customer_address",
        "customer_details",
        "customer_email",
        "customer_name",
        "customer_phone",
        "description",
        "email",
        "name",
        "phone",
        "receipt_email",
        "shipping",
        "shipping_details",
    }
)


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def obligations(self, user_id: uuid.UUID) -> Sequence[Obligation]:
        query = select(Obligation).where(Obligation.user_id == user_id).order_by(Obligation.created_at)
        return (await self.session.scalars(query)).all()

    async def payments(self, user_id: uuid.UUID) -> Sequence[Payment]:
        query = select(Payment).where(Payment.user_id == user_id).order_by(Payment.paid_at)
        return (await self.session.scalars(query)).all()

    async def refunds(self, user_id: uuid.UUID) -> Sequence[Refund]:
        query = select(Refund).where(Refund.user_id == user_id).order_by(Refund.created_at)
        return (await self.session.scalars(query)).all()

    async def customers(self, user_id: uuid.UUID) -> Sequence[Customer]:
        query = select(Customer).where(Customer.user_id == user_id).order_by(Customer.created_at)
        return (await self.session.scalars(query)).all()

    async def checkout_sessions(self, user_id: uuid.UUID) -> Sequence[CheckoutSession]:
        query = select(CheckoutSession).where(CheckoutSession.user_id == user_id).order_by(CheckoutSession.created_at)
        return (await self.session.scalars(query)).all()

    async def invoices(self, user_id: uuid.UUID) -> Sequence[Invoice]:
        mine = select(Obligation.id).where(Obligation.user_id == user_id)
        query = select(Invoice).where(Invoice.obligation_id.in_(mine)).order_by(Invoice.created_at)
        return (await self.session.scalars(query)).all()

    async def audit(self, user_id: uuid.UUID) -> Sequence[ObligationAudit]:
        mine = select(Obligation.id).where(Obligation.user_id == user_id)
        query = select(ObligationAudit).where(ObligationAudit.obligation_id.in_(mine)).order_by(ObligationAudit.id)
        return (await self.session.scalars(query)).all()

    async def webhook_events_about(self, stripe_ids: Sequence[str]) -> Sequence[WebhookEvent]:
        """Stored Stripe events that mention one of his Stripe ids (customer, payment intent...)."""
        if not stripe_ids:
            return []
        text = cast(WebhookEvent.payload, String)
        query = select(WebhookEvent).where(or_(*(text.contains(stripe_id) for stripe_id in stripe_ids)))
        return (await self.session.scalars(query.with_for_update())).all()

    async def pseudonymise(self, user_id: uuid.UUID) -> None:
        """Erasure: the words and links that identify or reach him go; amounts stay."""
        mine = select(Obligation.id).where(Obligation.user_id == user_id).scalar_subquery()
        await self.session.execute(
            update(Payment).where(Payment.user_id == user_id).values(note=None, receipt_url=None)
        )
        await self.session.execute(update(Refund).where(Refund.user_id == user_id).values(reason=ERASED))
        await self.session.execute(update(CheckoutSession).where(CheckoutSession.user_id == user_id).values(url=""))
        await self.session.execute(
            update(Invoice).where(Invoice.obligation_id.in_(mine)).values(hosted_invoice_url=None)
        )
        await self.session.execute(
            update(ObligationAudit)
            .where(ObligationAudit.obligation_id.in_(mine))
            .values(reason=None, data=ObligationAudit.data.op("-")("note"))
        )
        stripe_ids = [customer.stripe_customer_id for customer in await self.customers(user_id)]
        for event in await self.webhook_events_about(stripe_ids):
            event.payload = scrub(event.payload)
        await self.session.flush()


def scrub(value: Any) -> Any:
    """A copy of a Stripe object with every personal key emptied, at any depth."""
    if isinstance(value, dict):
        return {key: (None if key in PERSONAL_STRIPE_KEYS else scrub(item)) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value
