"""The signals through which request handlers wake this process's background loops.

Built before the runtime and the loops, handed to both: the runtime sets them after a commit,
the loops wait on them. Only hints kept in memory: whatever they would have triggered is also
found by the worker's periodic sweep.
"""

from __future__ import annotations

import asyncio
import uuid
from itertools import islice
from typing import Any


class WorkerWakeup:
    """Wakes the background worker at once (Stripe tasks just committed) instead of at its next tick."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    def set(self) -> None:
        self.event.set()


class PendingWebhooks:
    """Webhook events just stored (inbox row id → event), waiting for the webhook processor."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self._pending: dict[uuid.UUID, dict[str, Any]] = {}

    def put(self, row_id: uuid.UUID, event: dict[str, Any]) -> None:
        self._pending[row_id] = event
        self.event.set()

    def take(self, limit: int) -> dict[uuid.UUID, dict[str, Any]]:
        """Up to `limit` of the oldest pending events, removed from the queue."""
        batch = dict(islice(self._pending.items(), limit))
        for row_id in batch:
            del self._pending[row_id]
        return batch

    def __len__(self) -> int:
        return len(self._pending)
