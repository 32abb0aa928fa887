"""Processes the webhook events this process has just stored, right after they were
acknowledged, in batches: whatever arrived while earlier batches were being processed goes in
the next one (up to `BATCH_SIZE`), so under load one transaction serves many events. Up to
`LANES` batches are processed at once: a batch spends most of its time waiting for PostgreSQL,
and events arriving concurrently were processed concurrently before they were batched too
(handlers are order-proof and rows are claimed with SKIP LOCKED).

Only a hint kept in memory: every event is committed to the inbox before it is queued here,
and the worker's sweep processes whatever a crash or a stop leaves behind (webhooks/service.py).
"""

from __future__ import annotations

import asyncio
import logging

from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.webhooks import service
from mcm_shared.events.worker import BackgroundWorker

logger = logging.getLogger("mcm.payments.webhooks")

BATCH_SIZE = 100
LANES = 4


class WebhookProcessor(BackgroundWorker):
    kind = "webhook-processor"

    def __init__(self, runtime: PaymentsRuntime) -> None:
        super().__init__(backoff_initial=0.2, backoff_max=5.0)
        self.runtime = runtime
        self._pending = runtime.pending_webhooks  # filled by runtime.process_soon
        self._active: set[asyncio.Task[int]] = set()
        self._wake = runtime.pending_webhooks.event

    async def _cycle(self) -> None:
        while self._pending and len(self._active) < LANES:
            batch = self._pending.take(BATCH_SIZE)
            # process_batch records its failures itself; if even that fails (the database is
            # down), the rows are left to the worker's sweep.
            lane = asyncio.create_task(service.process_batch(self.runtime, batch), name="mcm-webhook-batch")
            self._active.add(lane)
            lane.add_done_callback(self._lane_done)
        self._interruptible = True
        try:
            await self._wake.wait()
        finally:
            self._interruptible = False
            self._wake.clear()

    def _lane_done(self, lane: asyncio.Task[int]) -> None:
        self._active.discard(lane)
        if not lane.cancelled() and lane.exception() is not None:
            logger.warning("webhook batch not processed; the sweep will retry it", exc_info=lane.exception())
        self._wake.set()

    async def stop(self, timeout: float = 20.0) -> None:  # noqa: ASYNC109 (BackgroundWorker.stop's signature)
        """Stop taking batches; let those in hand finish (the sweep gets what is still queued)."""
        await super().stop(timeout)
        if self._active:
            _, late = await asyncio.wait(set(self._active), timeout=timeout)
            for lane in late:
                lane.cancel()
