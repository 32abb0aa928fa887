"""The service's background loop: Stripe tasks, webhook retries, pauses that ran out,
forgetting old idempotency keys, and refreshing the reports' views.

Runs every `WORKER_INTERVAL_SECONDS`, and at once when a request kicks it (after committing a
Stripe task). Safe with several replicas: tasks are leased, webhook rows are locked with SKIP
LOCKED, obligations are row-locked, and each report view is refreshed under an advisory lock.
"""

from __future__ import annotations

import asyncio
from time import monotonic

from mcm_payments import idempotency
from mcm_payments.interventions.service import resume_lapsed_pauses
from mcm_payments.refunds import service as refunds
from mcm_payments.reports import service as reports
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.tasks import service as tasks
from mcm_payments.webhooks import service as webhooks
from mcm_shared.events.worker import BackgroundWorker

PAUSE_CHECK_SECONDS = 5.0
PURGE_SECONDS = 3600.0
# How often the worker looks whether a report view is due (it refreshes only views older than
# REPORTS_REFRESH_INTERVAL_SECONDS).
REPORTS_CHECK_SECONDS = 60.0


class PaymentsWorker(BackgroundWorker):
    kind = "payments-worker"

    def __init__(self, runtime: PaymentsRuntime, interval: float) -> None:
        super().__init__(backoff_initial=0.2, backoff_max=10.0)
        self.runtime = runtime
        self.interval = interval
        self._wake = runtime.worker_wakeup.event
        self._next_pause_check = 0.0
        self._next_purge = 0.0
        self._next_reports_check = 0.0

    async def run_once(self) -> int:
        busy = await tasks.run_due(self.runtime.sessionmaker, self.runtime, refunds.TASK_REACTIONS)
        busy += await webhooks.process_due(self.runtime)
        if monotonic() >= self._next_pause_check:
            self._next_pause_check = monotonic() + PAUSE_CHECK_SECONDS
            busy += await resume_lapsed_pauses(self.runtime)
        if monotonic() >= self._next_purge:
            self._next_purge = monotonic() + PURGE_SECONDS
            async with self.runtime.sessionmaker() as session, session.begin():
                await idempotency.purge(session)
        if monotonic() >= self._next_reports_check:
            self._next_reports_check = monotonic() + min(
                REPORTS_CHECK_SECONDS, self.runtime.settings.reports_refresh_interval_seconds
            )
            await reports.refresh_due_views(self.runtime)  # not `busy`: no follow-up work to hurry
        return busy

    async def _cycle(self) -> None:
        if await self.run_once():
            return
        self._interruptible = True
        try:
            await asyncio.wait_for(self._wake.wait(), self.interval)
        except TimeoutError:
            pass
        finally:
            self._interruptible = False
            self._wake.clear()
