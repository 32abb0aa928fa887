"""Group commit for the webhook inbox: webhooks that arrive together are stored by one INSERT
and one commit, and each is answered only after that commit.

Commits are durable (flushed to disk before PostgreSQL acknowledges them), so a commit per
webhook would make the disk flush, not the service, the limit under a burst. Each `store()`
call queues its row and waits; up to `writers` writers take whatever is queued (up to
`batch_size` rows) and store it in one statement (`repository.insert_events`). With nothing
queued a webhook starts its own writer at once, so a lone webhook waits for nobody; under load
the batches grow by themselves while earlier ones are being written.

A batch the database refuses for a reason other than an outage (one bad row) is written again
row by row, so only the bad row's webhook fails. Every failure reaches exactly the callers
whose rows were not stored; they answer 503 and Stripe sends those events again.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from datetime import timedelta

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy.ext.asyncio import AsyncEngine

from mcm_payments.webhooks.repository import InboxRow, insert_events
from mcm_shared.events.worker import is_transient

Row = InboxRow
Waiter = tuple[Row, "asyncio.Future[uuid.UUID | None]"]


class WebhookInbox:
    def __init__(
        self,
        engine: Callable[[], AsyncEngine],
        slots: asyncio.Semaphore,
        sweep_after: timedelta,
        *,
        writers: int = 4,
        batch_size: int = 200,
    ) -> None:
        self._engine = engine
        self._slots = slots  # pooled connections the writers may hold at once (shared with nobody else)
        self._sweep_after = sweep_after
        self._writers_max = writers
        self._batch_size = batch_size
        self._queue: list[Waiter] = []
        self._writers: set[asyncio.Task[None]] = set()

    async def store(self, row: Row) -> uuid.UUID | None:
        """Store one event's row; returns its row id once committed, or None if the Stripe
        event was stored before (a redelivery). Raises what storing raised."""
        future: asyncio.Future[uuid.UUID | None] = asyncio.get_running_loop().create_future()
        self._queue.append((row, future))
        if len(self._writers) < self._writers_max:
            task = asyncio.create_task(self._write_queued())  # not the request's task: a caller
            self._writers.add(task)  # that goes away cancels no batch
            task.add_done_callback(self._writers.discard)
        return await future

    async def _write_queued(self) -> None:
        while self._queue:
            batch, self._queue = self._queue[: self._batch_size], self._queue[self._batch_size :]
            try:
                await self._write(batch)
            except BaseException as exc:
                _settle(batch, exc)
                if not isinstance(exc, Exception):
                    raise

    async def _write(self, batch: list[Waiter]) -> None:
        # A Stripe id twice in one batch (a redelivery racing the first delivery): the first is
        # stored, the others share its outcome as duplicates.
        rows = list({row[1]: row for row, _ in reversed(batch)}.values())[::-1]
        try:
            stored = await self._insert(rows)
        except asyncpg.PostgresError as exc:
            if is_transient(exc) or len(rows) == 1:
                raise
            outcomes: dict[str, dict[str, uuid.UUID] | BaseException] = {}
            for row in rows:  # one bad row must not fail the others
                try:
                    outcomes[row[1]] = await self._insert([row])
                except Exception as single:
                    outcomes[row[1]] = single
            for waiter in batch:
                _settle([waiter], outcomes[waiter[0][1]])
            return
        _settle(batch, stored)

    async def _insert(self, rows: list[Row]) -> dict[str, uuid.UUID]:
        async with self._slots, self._engine().connect() as connection:
            raw = await connection.get_raw_connection()
            try:
                return await insert_events(raw.driver_connection, rows, self._sweep_after)
            except BaseException as exc:  # incl. cancellation mid-statement
                if not isinstance(exc, asyncpg.PostgresError) or is_transient(exc):
                    await connection.invalidate()  # the pool must not hand this connection out again
                raise


def _settle(batch: list[Waiter], outcome: dict[str, uuid.UUID] | BaseException) -> None:
    """Answer every caller of `batch` not answered yet: its new row id (taken by the first caller
    of that Stripe id), None (stored before), or the error."""
    for row, future in batch:
        if future.done():
            continue
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome.pop(row[1], None))
