"""One reader per process for the feeds of every user connected to it.

Each socket subscribes with a cursor (the last frame id it has); the hub reads the feeds of all
subscribed users with one blocking XREAD at a time, from the oldest cursor per user, and offers
each frame to every subscriber of that user whose cursor is behind it. So one Redis connection
serves any number of sockets, replicas need nothing from each other (the feed is in Redis), and a
resume is only a cursor moved back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from mcm_messaging.delivery.feeds import feed_key, parse_id, text, user_of

logger = logging.getLogger("mcm.messaging.hub")

Offer = Callable[[dict[str, Any]], bool]


class Subscriber:
    """A socket's place in its user's feed. `offer` must not block: it queues the frame and says
    whether it could; `ready` says whether the socket's queue has room. A socket whose queue is
    full is left out of the reads (no busy loop on its backlog) and picked up where its cursor is
    once it has room again; the socket itself decides when a full queue means it is too slow."""

    def __init__(self, user_id: str, cursor: str, offer: Offer, ready: Callable[[], bool]) -> None:
        self.user_id = user_id
        self.cursor = cursor
        self.offer = offer
        self.ready = ready

    def resume(self, after: str) -> None:
        self.cursor = after


class Hub:
    def __init__(self, redis: Redis, *, block_ms: int = 250, batch: int = 200) -> None:
        self.redis = redis
        self.block_ms = block_ms
        self.batch = batch
        self.subscribers: dict[str, set[Subscriber]] = {}
        self._changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.setdefault(subscriber.user_id, set()).add(subscriber)
        self._changed.set()

    def unsubscribe(self, subscriber: Subscriber) -> None:
        found = self.subscribers.get(subscriber.user_id)
        if found is not None:
            found.discard(subscriber)
            if not found:
                del self.subscribers[subscriber.user_id]

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="messaging-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            if not self.subscribers:
                self._changed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), timeout=1.0)
                continue
            cursors = {
                feed_key(user): min((s.cursor for s in ready), key=parse_id)
                for user, subs in self.subscribers.items()
                if (ready := [s for s in subs if s.ready()])
            }
            if not cursors:
                await asyncio.sleep(0.05)  # every socket's queue is full: wait for them to drain
                continue
            try:
                # redis-py types the stream map as dict[KeyT, StreamIdT]: a dict[str, str] does not match
                answer: Any = await self.redis.xread(cursors, count=self.batch, block=self.block_ms)  # type: ignore[arg-type]
            except (RedisError, OSError) as exc:
                logger.warning("feed read failed", extra={"error": type(exc).__name__})
                await asyncio.sleep(0.5)
                continue
            for stream, entries in answer or []:
                self._deliver(user_of(text(stream)), entries)

    def _deliver(self, user_id: str, entries: list[Any]) -> None:
        for subscriber in list(self.subscribers.get(user_id, ())):
            position = parse_id(subscriber.cursor)
            for raw_id, fields in entries:
                entry_id = text(raw_id)
                if parse_id(entry_id) <= position:
                    continue
                frame = json.loads(fields.get(b"frame") or fields.get("frame"))
                if not subscriber.offer({"type": frame["type"], "id": entry_id, "data": frame["data"]}):
                    break  # its queue is full: the rest waits at its cursor
                subscriber.cursor = entry_id
