"""Per-user feeds: one Redis stream per user (`messaging:feed:<user id>`) holding the frames the
socket pushes to every device of that user, on whichever replica it is connected.

A frame is written once per recipient (XADD) after the change that caused it is committed; its
stream entry id is the frame's `id`, so a client that reconnects resumes after the last id it saw
(`{"type": "resume", "after": id}`). Streams are trimmed by length (`REALTIME_FEED_MAX_LENGTH`)
and by age (`REALTIME_FEED_MAX_AGE_SECONDS`): what is older must be fetched over HTTP.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("mcm.messaging.feeds")

FEED_PREFIX = "messaging:feed:"
STREAM_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
FRAME_TYPES = frozenset({"message", "receipt", "typing", "presence", "notification"})


def feed_key(user_id: uuid.UUID | str) -> str:
    return f"{FEED_PREFIX}{user_id}"


def user_of(key: str) -> str:
    return key[len(FEED_PREFIX) :]


def parse_id(entry_id: str) -> tuple[int, int]:
    """A stream id as a comparable pair; `ValueError` for anything else."""
    if not STREAM_ID.match(entry_id):
        raise ValueError(entry_id)
    milliseconds, sequence = entry_id.split("-")
    return int(milliseconds), int(sequence)


def text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class Feeds:
    def __init__(self, redis: Redis, *, max_length: int, max_age_seconds: int) -> None:
        self.redis = redis
        self.max_length = max_length
        self.max_age_seconds = max_age_seconds

    async def push(self, user_ids: Iterable[uuid.UUID], frame_type: str, data: Mapping[str, Any]) -> None:
        """Add a frame to each user's feed. Best effort: the change is committed already, and a
        client that missed the frame finds it over HTTP; a Redis outage is logged, not raised."""
        if frame_type not in FRAME_TYPES:
            raise ValueError(frame_type)
        recipients = sorted({str(user_id) for user_id in user_ids})
        if not recipients:
            return
        payload = json.dumps({"type": frame_type, "data": data}, separators=(",", ":"), default=str)
        oldest = f"{int((time.time() - self.max_age_seconds) * 1000)}-0"
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                for user_id in recipients:
                    key = feed_key(user_id)
                    pipe.xadd(key, {"frame": payload}, maxlen=self.max_length, approximate=True)
                    pipe.xtrim(key, minid=oldest, approximate=True)
                    pipe.expire(key, self.max_age_seconds)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            logger.warning("feed push failed", extra={"frame_type": frame_type, "error": type(exc).__name__})

    async def tail(self, user_id: uuid.UUID) -> str:
        """The id of the newest frame in the user's feed ("0-0" when it has none)."""
        entries = await self.redis.xrevrange(feed_key(user_id), count=1)
        return text(entries[0][0]) if entries else "0-0"
