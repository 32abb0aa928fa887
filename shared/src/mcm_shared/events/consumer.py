"""The consumer side: read streams with a consumer group, apply each event exactly once, ack.

For each entry: insert the inbox row (group, event id) and run the handler in ONE transaction,
commit, then XACK. The inbox insert comes first on purpose: if two consumers ever hold the same
entry (one reclaimed it from the other), the second blocks on the primary key until the first
commits and then finds the row, so the handler's effects happen once. A crash between commit
and XACK leaves the entry pending; whoever reclaims it sees the inbox row and only acks.

Failure rules:
- unknown event type → acked and ignored (a producer may add events before consumers care);
- handler raises → not acked; the entry stays pending and is retried when it has been idle
  `claim_idle` seconds (XAUTOCLAIM, which also rescues entries of consumers that died);
- it fails again on its `max_deliveries`-th delivery, or cannot be parsed → parked: copied to
  the dead-letter stream and acked in one MULTI, with an error log line;
- PostgreSQL or Redis unreachable → never parks (an outage is not the event's fault); the loop
  backs off and the entry is retried later.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import timedelta
from time import monotonic
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from sqlalchemy import delete, func, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.events.envelope import Envelope, MalformedEvent
from mcm_shared.events.groups import (
    ack_vanished,
    create_group,
    default_consumer_name,
    delivery_counts,
    forget_idle_consumers,
    is_missing_group,
    park,
    text_of,
)
from mcm_shared.events.relay import DEFAULT_MAX_STREAM_LENGTH, SessionFactory
from mcm_shared.events.tables import EventTables
from mcm_shared.events.worker import BackgroundWorker, is_transient
from mcm_shared.logging import request_id_var

logger = logging.getLogger("mcm.events.consumer")

Handler = Callable[[AsyncSession, Envelope], Awaitable[None]]


class HandlerTimeout(RuntimeError):
    """A handler ran past `handler_timeout`; counted as a failed delivery like any other error."""


class EventConsumer(BackgroundWorker):
    """Consumes `streams` as consumer group `group`; handlers are `async def h(session, envelope)`.

    Handlers must not commit: the consumer commits their work together with the inbox row.
    """

    kind = "event-consumer"

    def __init__(
        self,
        sessionmaker: SessionFactory,
        redis: Redis,
        tables: EventTables,
        *,
        group: str,
        streams: Sequence[str],
        handlers: Mapping[str, Handler] | None = None,
        name: str | None = None,
        read_count: int = 10,
        block: float = 0.5,
        claim_idle: float = 30.0,
        claim_interval: float | None = None,
        max_deliveries: int = 5,
        handler_timeout: float | None = 60.0,
        dead_letter_stream: str | None = None,
        dead_letter_max_length: int = DEFAULT_MAX_STREAM_LENGTH,
        inbox_retention: timedelta | None = timedelta(days=30),
        forget_consumers_after: timedelta = timedelta(hours=24),
        housekeeping_interval: float = 3600.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
    ) -> None:
        super().__init__(backoff_initial=backoff_initial, backoff_max=backoff_max)
        if not group or not streams:
            raise ValueError("a consumer needs a group and at least one stream")
        if max_deliveries < 1 or read_count < 1:
            raise ValueError("max_deliveries and read_count must be positive")
        self.sessionmaker = sessionmaker
        self.redis = redis
        self.tables = tables
        self.group = group
        self.streams = list(dict.fromkeys(streams))
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.name = name or default_consumer_name()
        self.read_count = read_count
        # Keep the blocking read shorter than the client's socket timeout (1 s in make_redis),
        # or an idle read would look like a dead connection.
        self.block = block
        self.claim_idle = claim_idle
        self.claim_interval = claim_interval if claim_interval is not None else max(claim_idle / 2, 0.05)
        self.max_deliveries = max_deliveries
        # A hung handler would stall this replica for good; past the deadline it is a failure.
        self.handler_timeout = handler_timeout
        self.dead_letter_stream = dead_letter_stream or f"events:dead-letter:{group}"
        self.dead_letter_max_length = dead_letter_max_length
        # Duplicates arrive within seconds of the original (relay retry, reclaim), so a month of
        # inbox rows is a very wide de-duplication window; older rows are deleted.
        self.inbox_retention = inbox_retention
        self.forget_consumers_after = forget_consumers_after
        self.housekeeping_interval = housekeeping_interval
        self._groups_ready = False
        self._next_claim = 0.0
        self._next_housekeeping = 0.0

    # -- registration -------------------------------------------------------------------------
    def register(self, event_type: str, handler: Handler) -> None:
        if event_type in self.handlers:
            raise ValueError(f"a handler for {event_type!r} is already registered")
        self.handlers[event_type] = handler

    def handler(self, event_type: str) -> Callable[[Handler], Handler]:
        """Decorator form of `register`."""

        def decorate(function: Handler) -> Handler:
            self.register(event_type, function)
            return function

        return decorate

    # -- one step each (the loop calls these; tests may too) ----------------------------------
    async def ensure_groups(self) -> None:
        """Create the group on every stream (from id 0, creating empty streams) if missing."""
        for stream in self.streams:
            await create_group(self.redis, stream, self.group)
        self._groups_ready = True

    async def poll(self) -> int:
        """Read new entries (blocking up to `block` seconds) and handle them; return the count.

        The blocking read is not cancelled by stop(): a reply that arrives while stopping would
        otherwise leave entries delivered to us but never handled. `block` is short (≤ 1 s), and
        the batch in hand (at most `read_count` entries) is finished before stopping, so a
        stopped consumer leaves nothing pending behind it.
        """
        try:
            # RESP2 answers a list of [stream, entries] pairs, RESP3 a dict: typed loosely on purpose.
            response: Any = await self.redis.xreadgroup(
                self.group,
                self.name,
                {stream: ">" for stream in self.streams},
                count=self.read_count,
                block=int(self.block * 1000) if self.block > 0 else None,
            )
        except ResponseError as exc:
            return self._lost_group(exc)
        handled = 0
        batches = response.items() if isinstance(response, dict) else (response or [])
        for stream, entries in batches:
            for message_id, fields in entries:
                await self._handle(text_of(stream), message_id, fields, deliveries=1)
                handled += 1
        return handled

    async def reclaim(self) -> int:
        """XAUTOCLAIM entries idle for `claim_idle` (own failures, dead consumers') and handle them."""
        handled = 0
        for stream in self.streams:
            cursor: Any = "0-0"
            while not self.stopping:
                try:
                    result = await self.redis.xautoclaim(
                        stream,
                        self.group,
                        self.name,
                        int(self.claim_idle * 1000),
                        start_id=cursor,
                        count=self.read_count,
                    )
                except ResponseError as exc:
                    return handled + self._lost_group(exc)
                next_cursor, entries = result[0], result[1]
                live = [(mid, fields) for mid, fields in entries if mid is not None]
                if len(live) < len(entries):  # Redis 6.2 marks trimmed entries as nil
                    await ack_vanished(
                        self.redis, stream, self.group, self.name, cursor, next_cursor, [m for m, _ in live]
                    )
                counts = await delivery_counts(self.redis, stream, self.group, [mid for mid, _ in live])
                for message_id, fields in live:  # claimed to us: finish them even when stopping
                    await self._handle(stream, message_id, fields, deliveries=counts.get(message_id, 1))
                    handled += 1
                if text_of(next_cursor) == "0-0":
                    break
                cursor = next_cursor
        return handled

    async def housekeeping(self) -> None:
        """Delete old inbox rows and forget long-idle consumers that hold nothing."""
        if self.inbox_retention is not None:
            inbox = self.tables.inbox
            async with self.sessionmaker() as session, session.begin():
                old = (
                    select(inbox.c.consumer, inbox.c.event_id)
                    .where(inbox.c.consumer == self.group, inbox.c.processed_at < func.now() - self.inbox_retention)
                    .limit(1000)
                )
                await session.execute(delete(inbox).where(tuple_(inbox.c.consumer, inbox.c.event_id).in_(old)))
        idle_ms = self.forget_consumers_after.total_seconds() * 1000
        for stream in self.streams:
            await forget_idle_consumers(self.redis, stream, self.group, keep=self.name, idle_ms=idle_ms)

    async def _cycle(self) -> None:
        if not self._groups_ready:
            await self.ensure_groups()
        if monotonic() >= self._next_claim:
            self._next_claim = monotonic() + self.claim_interval
            await self.reclaim()
        if monotonic() >= self._next_housekeeping:
            self._next_housekeeping = monotonic() + self.housekeeping_interval
            await self.housekeeping()
        if not self.stopping:
            await self.poll()

    # -- one entry ----------------------------------------------------------------------------
    async def _handle(self, stream: str, message_id: Any, fields: Any, *, deliveries: int) -> None:
        try:
            envelope = Envelope.from_fields(fields)
        except MalformedEvent as exc:
            await self._park(stream, message_id, fields, deliveries, str(exc))
            return
        handler = self.handlers.get(envelope.type)
        if handler is None:
            await self.redis.xack(stream, self.group, message_id)
            return
        log = {"stream": stream, "event_id": str(envelope.id), "event_type": envelope.type, "deliveries": deliveries}
        try:
            applied = await self._apply(envelope, handler)
        except Exception as exc:
            if is_transient(exc):
                raise  # the loop backs off; the entry stays pending for a later attempt
            if deliveries >= self.max_deliveries:
                await self._park(stream, message_id, fields, deliveries, f"{type(exc).__name__}: {exc}")
            else:
                logger.warning("event handler failed; it will be retried", exc_info=True, extra=log)
            return
        if not applied:
            logger.info("duplicate event skipped", extra=log)
        await self.redis.xack(stream, self.group, message_id)

    async def _apply(self, envelope: Envelope, handler: Handler) -> bool:
        """Inbox row + handler in one transaction. False when the event was already applied."""
        inbox = self.tables.inbox
        token = request_id_var.set(envelope.request_id)  # the producer's request id in our logs
        try:
            async with self.sessionmaker() as session, session.begin():
                claimed = await session.execute(
                    pg_insert(inbox)
                    .values(
                        consumer=self.group, event_id=envelope.id, event_type=envelope.type, producer=envelope.producer
                    )
                    .on_conflict_do_nothing()
                    .returning(inbox.c.event_id)
                )
                if claimed.first() is None:
                    return False
                try:
                    async with asyncio.timeout(self.handler_timeout) as deadline:
                        await handler(session, envelope)
                except TimeoutError:
                    if deadline.expired():  # ours, not a timeout raised inside the handler
                        raise HandlerTimeout(f"handler ran longer than {self.handler_timeout}s") from None
                    raise
            return True
        finally:
            request_id_var.reset(token)

    async def _park(self, stream: str, message_id: Any, fields: Any, deliveries: int, reason: str) -> None:
        await park(
            self.redis,
            dead_letter_stream=self.dead_letter_stream,
            max_length=self.dead_letter_max_length,
            stream=stream,
            group=self.group,
            consumer=self.name,
            message_id=message_id,
            fields=fields,
            deliveries=deliveries,
            reason=reason,
        )

    def _lost_group(self, exc: ResponseError) -> int:
        # The stream or group vanished (Redis restarted without persistence, the key was
        # deleted): recreate it on the next cycle instead of failing forever.
        if not is_missing_group(exc):
            raise exc
        logger.warning("consumer group missing; recreating it", extra={"group": self.group})
        self._groups_ready = False
        return 0
