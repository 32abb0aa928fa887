"""One Stripe customer per user, created the first time the user pays.

Created with the idempotency key `customer:<user_id>`, so two first checkouts racing each other
get the same Stripe customer; Stripe learns the user id only (no name, no email: contact details
stay in the credentials database).

A customer Stripe no longer knows (deleted in the Stripe dashboard; the stand-in restarted) is
replaced by `replace_missing`: a new customer with the idempotency key
`customer:<user_id>:replaces:<old id>` (the first key would replay the lost customer), linked in
place of the old one, which stays in the table marked `replaced_at` so late webhooks about it are
still attributed to the user."""

from __future__ import annotations

import logging
import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers.models import Customer
from mcm_payments.customers.repository import CustomerRepository
from mcm_payments.runtime import PaymentsRuntime

logger = logging.getLogger("mcm.payments.customers")


async def ensure_customer(session: AsyncSession, runtime: PaymentsRuntime, user_id: uuid.UUID) -> str:
    """The user's Stripe customer id; creates and commits the link when missing."""
    repository = CustomerRepository(session)
    existing = await repository.by_user(user_id)
    if existing is not None:
        return existing.stripe_customer_id
    customer = await runtime.stripe.create_customer(str(user_id))
    await repository.insert_if_absent(user_id, customer["id"])
    await session.commit()
    linked = await repository.by_user(user_id)
    if linked is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("linked is missing")
    return linked.stripe_customer_id


async def replace_missing(session: AsyncSession, runtime: PaymentsRuntime, user_id: uuid.UUID, missing_id: str) -> str:
    """Stripe said `missing_id` does not exist: link a new customer instead and commit. Returns the
    user's current customer id (the one a concurrent replacement linked, if it was first: both
    create the same Stripe customer, through the same idempotency key)."""
    customer = await runtime.stripe.create_customer(str(user_id), replaces=missing_id)
    repository = CustomerRepository(session)
    if await repository.retire(user_id, missing_id):
        logger.warning(
            "stripe customer %s of user %s no longer exists at Stripe; replaced by %s",
            missing_id,
            user_id,
            customer["id"],
        )
    await repository.insert_if_absent(user_id, customer["id"])
    await session.commit()
    linked = await repository.by_user(user_id)
    if linked is None:  # held by a foreign key / the lock taken above
        raise RuntimeError("linked is missing")
    return linked.stripe_customer_id


async def current_stripe_id(session: AsyncSession, user_id: uuid.UUID) -> str | None:
    """The user's current Stripe customer id, None if he never paid by card."""
    customer = await CustomerRepository(session).by_user(user_id)
    return customer.stripe_customer_id if customer else None


async def is_known(session: AsyncSession, stripe_customer_id: str) -> bool:
    return await CustomerRepository(session).by_stripe_id(stripe_customer_id) is not None


async def by_stripe_id(session: AsyncSession, stripe_customer_id: str) -> Customer | None:
    """Which member a Stripe customer is (None: not one of ours)."""
    return await CustomerRepository(session).by_stripe_id(stripe_customer_id)
