"""Rendered pages of GET /api/v1/circles (and single circles of GET /api/v1/circles/{id}),
kept in memory until anything they show changes.

Browsing members ask the same few questions (the first page, a city, open seats…) over and
over, while circles and memberships change rarely. A page is kept per (query, viewer scope):
the scope is "staff" (sees every circle) or the private circles the viewer belongs to (usually
none), so members with the same scope share entries and nobody sees another's private circle.
A single circle is kept with its visibility and checked against the viewer's scope on each read.

Forgetting is what makes this safe:
- any transaction of *this process* that wrote circles, memberships or profiles clears the
  cache when it commits (read-your-writes, before the response goes out);
- any other process's change arrives as a PostgreSQL NOTIFY (migration 0004 triggers) and
  clears it on every replica;
- while the NOTIFY connection is down the cache is off (neither served nor filled);
- a page computed while a change arrived is not stored (generation check), and entries also
  expire after a TTL and are bounded in number (LRU).
"""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import event
from sqlalchemy.exc import SQLAlchemyError

from mcm_shared.db import Database
from mcm_shared.pg_notify import NotificationListener

CHANNEL = "circles_listing"  # see migrations/versions/0004_listing_notify.py
STAFF_SCOPE = "staff"
# Writes that can change a listed page; matched on the SQL text so ORM, Core and text() all count.
_LISTED_WRITE = re.compile(
    r"^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+circles\.(?:circles|memberships|profiles)\b", re.I
)
_DIRTY = "circles_listing_dirty"
_COMMITTED = "circles_listing_committed"

Scope = str | tuple[uuid.UUID, ...]
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class ListingCache:
    def __init__(self, *, max_entries: int, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._pages: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()
        self._scopes: OrderedDict[uuid.UUID, tuple[float, tuple[uuid.UUID, ...]]] = OrderedDict()
        self.generation = 0
        self.listening = False  # set by the NOTIFY listener; off means "cannot hear changes"
        self.outcomes: Counter | None = None
        self._renders: dict[tuple[Hashable, int], asyncio.Future[bytes]] = {}

    @property
    def active(self) -> bool:
        return self.listening and self.max_entries > 0

    def invalidate(self) -> None:
        self.generation += 1
        self._pages.clear()
        self._scopes.clear()

    def set_listening(self, listening: bool) -> None:
        self.listening = listening
        self.invalidate()

    def page(self, key: Hashable) -> Any:
        """A list page's JSON bytes, or a single circle's (visibility, JSON bytes); None if absent."""
        found = self._get(self._pages, key) if self.active else None
        if self.outcomes is not None:
            self.outcomes.labels("hit" if found is not None else "miss").inc()
        return found

    def store_page(self, key: Hashable, body: Any, generation: int) -> None:
        self._put(self._pages, key, body, generation)

    async def page_or_render(self, key: Hashable, generation: int, render: Callable[[], Awaitable[bytes]]) -> bytes:
        """The cached page, or `render()`'s, stored for the next callers. Concurrent misses of
        one page share a single rendering: after a change every replica's cache is empty at
        once, and each popular page must not be computed by every request waiting for it."""
        found: bytes | None = self.page(key)
        if found is not None:
            return found
        if not self.active:
            return await render()
        flight = (key, generation)
        if (rendering := self._renders.get(flight)) is not None:
            try:
                return await asyncio.shield(rendering)
            except asyncio.CancelledError:
                if not rendering.cancelled():
                    raise  # this request itself was cancelled
            return await render()  # the shared rendering failed: render (and fail) on our own
        rendering = asyncio.get_running_loop().create_future()
        self._renders[flight] = rendering
        try:
            body = await render()
        except BaseException:
            rendering.cancel()
            raise
        finally:
            del self._renders[flight]
        rendering.set_result(body)
        self.store_page(key, body, generation)
        return body

    def scope(self, user_id: uuid.UUID) -> tuple[uuid.UUID, ...] | None:
        return self._get(self._scopes, user_id) if self.active else None

    def store_scope(self, user_id: uuid.UUID, private_circles: tuple[uuid.UUID, ...], generation: int) -> None:
        self._put(self._scopes, user_id, private_circles, generation)

    def _get(self, entries: OrderedDict[K, tuple[float, V]], key: K) -> V | None:
        entry = entries.get(key)
        if entry is None:
            return None
        stored_at, value = entry
        if self._clock() - stored_at > self.ttl_seconds:
            del entries[key]
            return None
        entries.move_to_end(key)
        return value

    def _put(self, entries: OrderedDict[K, tuple[float, V]], key: K, value: V, generation: int) -> None:
        # A change heard since the caller started reading may not be in `value`: drop it.
        if not self.active or generation != self.generation:
            return
        entries[key] = (self._clock(), value)
        entries.move_to_end(key)
        while len(entries) > self.max_entries:
            entries.popitem(last=False)


def _info(connection: Any) -> dict[str, Any] | None:
    """The pooled connection's info dict; None once the connection was invalidated (the
    database dropped it): nothing can be committed on it any more, and asking would raise."""
    try:
        info: dict[str, Any] = connection.info
    except SQLAlchemyError:
        return None
    return info


def watch_local_writes(sync_engine: Any, cache: ListingCache) -> None:
    """Clear the cache when a transaction of this engine that wrote listed tables commits."""

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _note_write(
        connection: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if _LISTED_WRITE.match(statement) and (info := _info(connection)) is not None:
            info[_DIRTY] = True

    @event.listens_for(sync_engine, "commit")
    def _on_commit(connection: Any) -> None:
        info = _info(connection)
        if info is not None and info.pop(_DIRTY, False):
            cache.invalidate()
            info[_COMMITTED] = True

    @event.listens_for(sync_engine, "rollback")
    def _on_rollback(connection: Any) -> None:
        if (info := _info(connection)) is not None:
            info.pop(_DIRTY, None)

    # "commit" fires just before COMMIT is sent; a page read in between would still show the
    # old rows, so clear again once the connection comes back to the pool, after the commit.
    @event.listens_for(sync_engine, "checkin")
    def _after_commit(dbapi_connection: Any, record: Any) -> None:
        if record.info.pop(_COMMITTED, False):
            cache.invalidate()


async def start_listing_cache(
    *,
    database: Database,
    registry: CollectorRegistry,
    max_entries: int,
    ttl_seconds: float,
    connect_timeout: float,
    stack: AsyncExitStack,
) -> tuple[ListingCache, NotificationListener | None]:
    """The cache with its local and NOTIFY invalidation (called by the lifespan, after the database)."""
    cache = ListingCache(max_entries=max_entries, ttl_seconds=ttl_seconds)
    cache.outcomes = Counter(
        "circles_listing_cache_total",
        "GET /api/v1/circles and /circles/{id} answered from the listing cache or not",
        ["outcome"],
        registry=registry,
    )
    if max_entries <= 0:
        return cache, None
    watch_local_writes(database.engine.sync_engine, cache)
    listener = NotificationListener(
        database.url,
        CHANNEL,
        on_notify=lambda _payload: cache.invalidate(),
        on_reset=lambda: cache.set_listening(listener.listening),
        connect_timeout=connect_timeout,
    )
    listener.start()
    stack.push_async_callback(listener.stop)
    return cache, listener
