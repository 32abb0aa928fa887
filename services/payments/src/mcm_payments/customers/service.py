"""One Stripe customer per user, created the first time the user pays.

Created with the idempotency key `customer:<user_id>`, so two first checkouts racing each other
get the same Stripe customer; Stripe learns the user id only (no name, no email: contact details
stay in the credentials database)."""
from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers.repository import CustomerRepository
from mcm_payments.runtime import Runtime


async def ensure_customer(session: AsyncSession, runtime: Runtime, user_id: uuid.UUID) -> str:
    """The user's Stripe customer id; creates and commits the link when missing."""
    repository = CustomerRepository(session)
    existing = await repository.by_user(user_id)
    if existing is not None:
        return existing.stripe_customer_id
    customer = await runtime.stripe.create_customer(str(user_id))
    await repository.insert_if_absent(user_id, customer["id"])
    await session.commit()
    linked = await repository.by_user(user_id)
    assert linked is not None
    return linked.stripe_customer_id


async def is_known(session: AsyncSession, stripe_customer_id: str) -> bool:
    return await CustomerRepository(session).by_stripe_id(stripe_customer_id) is not None
