"""What the service layer needs besides a database session: settings, the Stripe API, the event
writer, the webhook inbox writer and the signals that wake the background worker and the webhook
processor. Built once per app by the lifespan (main.py) and never changed afterwards."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mcm_payments.config import Settings
from mcm_payments.stripe_api import StripeApi
from mcm_payments.wakeups import PendingWebhooks, WorkerWakeup
from mcm_shared.events import EventWriter


class WebhookStore(Protocol):
    """Stores a verified webhook's inbox row (webhooks/inbox.py); the row id, or None for a redelivery."""

    async def store(self, row: tuple[Any, ...]) -> uuid.UUID | None: ...


@dataclass(frozen=True, slots=True)
class PaymentsRuntime:
    settings: Settings
    stripe: StripeApi
    writer: EventWriter
    sessionmaker: async_sessionmaker[AsyncSession]
    engine: AsyncEngine
    # Stores webhooks that arrive together with one INSERT and one commit (webhooks/inbox.py).
    webhook_inbox: WebhookStore
    # Wakes the worker so Stripe side effects run right after the transaction that decided them.
    worker_wakeup: WorkerWakeup
    # Webhook events just stored, for this process's webhook processor; without one, the
    # worker's sweep processes them (see webhooks/service.py).
    pending_webhooks: PendingWebhooks

    def kick(self) -> None:
        """Wake the background worker (call after committing Stripe tasks)."""
        self.worker_wakeup.set()

    def process_soon(self, row_id: uuid.UUID, event: dict[str, Any]) -> None:
        """Hand a webhook event just stored to this process's webhook processor."""
        self.pending_webhooks.put(row_id, event)
