"""An in-process queue per event in front of the event's row lock.

The row lock (plus the CHECK on seats) is what makes capacity safe, across any number of
processes. But when hundreds of requests for one event reach one process together, letting
them all wait inside PostgreSQL ties up pool connections and lets lock waits run into the
statement timeout, while the lock holder itself waits for its turn on the busy event loop.
Queuing them here first keeps at most one transaction per process on the lock; the others
wait without holding a connection. Safety never depends on this gate, only throughput does.
One `EventGates` per app (`CirclesRuntime.gates`), i.e. per process; used by events.registrations.

The at-once registration (one autocommitted statement, registration.py) holds the row lock
only inside PostgreSQL, for that statement and its commit, never across a turn of our event
loop; serialising it here would cap an event at one registration per two round trips through a
busy loop. It goes through `admissions` instead: at most half the connection pool at once, for
any events, so a burst waits here rather than exhausting the pool (and churning overflow
connections) while PostgreSQL hands the lock from one statement to the next.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from uuid import UUID


class EventGates:
    def __init__(self, admission_slots: int = 5) -> None:
        self._gates: dict[UUID, tuple[asyncio.Lock, int]] = {}
        self.admissions = asyncio.Semaphore(admission_slots)

    @asynccontextmanager
    async def enter(self, event_id: UUID) -> AsyncIterator[None]:
        lock, users = self._gates.get(event_id, (asyncio.Lock(), 0))
        self._gates[event_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._gates[event_id]
            if users <= 1:
                del self._gates[event_id]  # no idle locks pile up
            else:
                self._gates[event_id] = (lock, users - 1)
