"""Redis consumer-group plumbing used by the consumer: group creation, delivery counts, the
dead-letter stream, trimmed entries and forgotten consumers. No database, no handlers.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from redis.typing import EncodableT, FieldT

logger = logging.getLogger("mcm.events.consumer")


def text_of(value: Any) -> str:
    """Stream names and ids come back as bytes unless the client decodes responses."""
    return value.decode() if isinstance(value, bytes) else str(value)


def default_consumer_name() -> str:
    # Unique per process: a restarted pod starts clean, and what the dead process held is
    # reclaimed by idle time like any other pending entry.
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def is_missing_group(exc: ResponseError) -> bool:
    return "NOGROUP" in str(exc)


async def create_group(redis: Redis, stream: str, group: str) -> None:
    """XGROUP CREATE <stream> <group> 0 MKSTREAM, tolerating an existing group.

    Id 0, not $: a group created after events were written (new service, Redis restarted,
    relay faster than the consumer's start) still sees them.
    """
    try:
        await redis.xgroup_create(stream, group, id="0", mkstream=True)
    except ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


async def delivery_counts(redis: Redis, stream: str, group: str, message_ids: list[Any]) -> dict[Any, int]:
    """How many times each entry has been delivered (XAUTOCLAIM does not say), one round trip."""
    if not message_ids:
        return {}
    async with redis.pipeline(transaction=False) as pipe:
        for message_id in message_ids:
            pipe.xpending_range(stream, group, min=message_id, max=message_id, count=1)
        replies = await pipe.execute()
    return {mid: reply[0]["times_delivered"] for mid, reply in zip(message_ids, replies, strict=True) if reply}


async def ack_vanished(
    redis: Redis, stream: str, group: str, consumer: str, start: Any, end: Any, known: Iterable[Any]
) -> None:
    """Ack pending ids whose entries were trimmed (MAXLEN) before anyone processed them.

    Redis 6.2's XAUTOCLAIM returns such entries as nil without their id and leaves them
    pending, so they would be claimed forever; Redis 7 drops them itself.
    """
    known = set(known)
    maximum = "+" if text_of(end) == "0-0" else end
    pending = await redis.xpending_range(stream, group, min=start, max=maximum, count=1000, consumername=consumer)
    for item in pending:
        message_id = item["message_id"]
        if message_id in known or await redis.xrange(stream, min=message_id, max=message_id, count=1):
            continue
        await redis.xack(stream, group, message_id)
        logger.error(
            "event was trimmed from the stream before it was processed",
            extra={"stream": stream, "message_id": text_of(message_id)},
        )


async def park(
    redis: Redis,
    *,
    dead_letter_stream: str,
    max_length: int,
    stream: str,
    group: str,
    consumer: str,
    message_id: Any,
    fields: Mapping[Any, Any] | None,
    deliveries: int,
    reason: str,
) -> None:
    """Copy an entry to the dead-letter stream and ack it, atomically (MULTI)."""
    fields = fields or {}
    event_type = fields.get(b"type", fields.get("type", ""))
    entry: dict[FieldT, EncodableT] = {
        "stream": stream,
        "message_id": message_id,
        "group": group,
        "consumer": consumer,
        "deliveries": str(deliveries),
        "reason": reason[:2000],
        "parked_at": datetime.now(UTC).isoformat(),
        "type": event_type,
        "envelope": fields.get(b"envelope", fields.get("envelope", "")),
    }
    # In one MULTI, so an entry is never acked without its copy nor copied twice by one attempt.
    async with redis.pipeline(transaction=True) as pipe:
        pipe.xadd(dead_letter_stream, entry, maxlen=max_length, approximate=True)
        pipe.xack(stream, group, message_id)
        await pipe.execute()
    logger.error(
        "event parked in dead-letter stream",
        extra={
            "stream": stream,
            "message_id": text_of(message_id),
            "event_type": text_of(event_type),
            "dead_letter_stream": dead_letter_stream,
            "deliveries": deliveries,
            "reason": reason[:500],
        },
    )


async def forget_idle_consumers(redis: Redis, stream: str, group: str, *, keep: str, idle_ms: float) -> None:
    """Delete consumers that hold nothing and have not read for `idle_ms` (dead processes).

    Each process has its own consumer name, so without this the group's consumer list would
    grow by one per restart. Entries are never lost: only consumers with nothing pending go.
    """
    for info in await redis.xinfo_consumers(stream, group):
        if info["pending"] == 0 and info["idle"] > idle_ms and text_of(info["name"]) != keep:
            await redis.xgroup_delconsumer(stream, group, info["name"])
