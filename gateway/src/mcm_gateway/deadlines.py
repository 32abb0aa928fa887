"""Coarse timeouts without a timer per request.

Arming and cancelling an event-loop timer costs a few microseconds — as much as a fair share of
the gateway's whole per-request budget, and a proxied request needs several. Instead, whatever
may time out carries a `deadline` (loop time) and is checked by one sweep every `tick` seconds,
so a timeout fires between 0 and `tick` late.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from typing import Protocol


class Expiring(Protocol):
    deadline: float

    def expire(self) -> None: ...


class Sweeper:
    def __init__(self, tick: float = 0.1) -> None:
        self.tick = tick
        self.watched: set[Expiring] = set()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._sweep_forever(), name="deadline-sweeper")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _sweep_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self.tick)
            now = loop.time()
            expired = [item for item in self.watched if item.deadline <= now]
            for item in expired:
                self.watched.discard(item)
                item.expire()


# Request ids: unique per process (random prefix) and cheap (a counter), 32 hex characters
# like uuid4().hex. They correlate log lines; nothing relies on them being unguessable.
_ID_PREFIX = os.urandom(8).hex()
_ID_COUNTER = itertools.count(1)


_ID_PREFIX_BYTES = _ID_PREFIX.encode()


def fast_request_id_bytes() -> bytes:
    """A new id, already as the bytes a header needs (the proxy's hot path)."""
    return b"%s%016x" % (_ID_PREFIX_BYTES, next(_ID_COUNTER) & 0xFFFFFFFFFFFFFFFF)
