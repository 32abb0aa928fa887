"""SQL for the user ↔ Stripe customer link."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers.models import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_user(self, user_id: uuid.UUID) -> Customer | None:
        """The user's current customer (not one that was replaced)."""
        return await self.session.scalar(
            select(Customer).where(Customer.user_id == user_id, Customer.replaced_at.is_(None))
        )

    async def by_stripe_id(self, stripe_customer_id: str) -> Customer | None:
        """Current or replaced: events about an old customer still belong to its user."""
        return await self.session.scalar(select(Customer).where(Customer.stripe_customer_id == stripe_customer_id))

    async def insert_if_absent(self, user_id: uuid.UUID, stripe_customer_id: str) -> None:
        # Nothing when the user already has a current customer or this one is already linked.
        await self.session.execute(
            insert(Customer)
            .values(id=uuid.uuid4(), user_id=user_id, stripe_customer_id=stripe_customer_id)
            .on_conflict_do_nothing()
        )

    async def retire(self, user_id: uuid.UUID, stripe_customer_id: str) -> bool:
        """Mark the user's current customer replaced, if it still is `stripe_customer_id`. A concurrent
        replacement waits for this row lock and then finds nothing to retire."""
        result = await self.session.execute(
            update(Customer)
            .where(
                Customer.user_id == user_id,
                Customer.stripe_customer_id == stripe_customer_id,
                Customer.replaced_at.is_(None),
            )
            .values(replaced_at=func.now(), updated_at=func.now())
        )
        return bool(cast(CursorResult[Any], result).rowcount)  # an UPDATE's result is a CursorResult
