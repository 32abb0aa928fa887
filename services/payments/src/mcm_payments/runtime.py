"""What the service layer needs besides a database session: settings, the Stripe API, the event
writer, a way to wake the background worker and one to hand stored webhooks to the webhook
processor. Built once per app (see main.py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mcm_payments.config import Settings
from mcm_payments.stripe_api import StripeApi
from mcm_shared.events import EventWriter


@dataclass
class Runtime:
    settings: Settings
    stripe: StripeApi
    writer: EventWriter
    sessionmaker: async_sessionmaker[AsyncSession]
    # Wakes the worker so Stripe side effects run right after the transaction that decided them.
    kick: Callable[[], None] = field(default=lambda: None)
    # Hands a webhook event just stored (row id, event) to this process's webhook processor;
    # without one, the worker's sweep processes it (see webhooks/service.py).
    process_soon: Callable[[uuid.UUID, dict[str, Any]], None] = field(default=lambda row_id, event: None)
    # Webhook stores in flight at once. Each holds a pooled connection for one short statement;
    # beyond this, webhooks wait their turn rather than open overflow connections, which the pool
    # closes again as soon as they are returned (a connect per webhook under load).
    store_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(5))
    # Stores webhooks that arrive together with one INSERT and one commit (webhooks/inbox.py);
    # made on first use by webhooks.service.inbox.
    webhook_inbox: Any = None

    @property
    def engine(self) -> AsyncEngine:
        engine = self.sessionmaker.kw["bind"]
        assert isinstance(engine, AsyncEngine)
        return engine


async def get_runtime(request: Request) -> Runtime:
    # async: a plain `def` dependency would cost a thread-pool round trip on every request.
    return request.app.state.runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
