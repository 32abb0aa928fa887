"""What a webhook handler is given: the transaction, the runtime and the event, with the lookups
every handler needs (the obligation our metadata names, whether the Stripe customer is its member)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.customers import service as customers
from mcm_payments.obligations import service as obligations
from mcm_payments.obligations.models import Obligation
from mcm_payments.runtime import PaymentsRuntime


@dataclass
class Context:
    session: AsyncSession
    runtime: PaymentsRuntime
    event: dict[str, Any]

    @property
    def obj(self) -> dict[str, Any]:
        obj: dict[str, Any] = self.event["data"]["object"]
        return obj

    @property
    def created(self) -> int:
        return int(self.event["created"])

    async def owner(self, obligation_id: Any) -> Obligation | None:
        """The obligation named in our metadata, row-locked; None if it is not one of ours."""
        try:
            parsed = uuid.UUID(str(obligation_id))
        except ValueError:
            return None
        return await obligations.lock(self.session, parsed)

    async def customer_matches(self, obligation: Obligation) -> bool:
        customer_id = self.obj.get("customer")
        if not customer_id:
            return True
        customer = await customers.by_stripe_id(self.session, customer_id)
        return customer is not None and customer.user_id == obligation.user_id


Handler = Callable[[Context], Awaitable[str]]
