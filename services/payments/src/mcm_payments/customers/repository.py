"""SQL for the user ↔ Stripe customer link."""
from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers.models import Customer


class CustomerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_user(self, user_id: uuid.UUID) -> Customer | None:
        return await self.session.scalar(select(Customer).where(Customer.user_id == user_id))

    async def by_stripe_id(self, stripe_customer_id: str) -> Customer | None:
        return await self.session.scalar(select(Customer).where(Customer.stripe_customer_id == stripe_customer_id))

    async def insert_if_absent(self, user_id: uuid.UUID, stripe_customer_id: str) -> None:
        await self.session.execute(
            insert(Customer).values(id=uuid.uuid4(), user_id=user_id, stripe_customer_id=stripe_customer_id).on_conflict_do_nothing()
        )
