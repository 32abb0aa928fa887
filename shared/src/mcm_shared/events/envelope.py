"""The event envelope: what travels on a stream, and how it is written to and read from one.

A stream entry carries two fields: `type` (so an operator reading the stream with redis-cli sees
what an entry is without parsing JSON) and `envelope` (the whole envelope as compact JSON).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

STREAM_PREFIX = "events:"


def stream_for(service: str) -> str:
    """The stream a service publishes to: one per producing service (ARCHITECTURE.md §5)."""
    return f"{STREAM_PREFIX}{service}"


class MalformedEvent(ValueError):
    """A stream entry that cannot be read as an envelope; it is parked, never retried."""


def _json_default(value: Any) -> Any:
    # Producers hand us ids and timestamps straight from their models; turn them into the plain
    # JSON a consumer in another service can read. Anything else (Decimal, objects) is refused at
    # publish time so a bad payload fails in the producer's request, not later in the relay.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise TypeError("naive datetime in event payload; use timezone-aware UTC")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} is not allowed in an event payload")


def normalise_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return `payload` as plain JSON types (str keys, lists, numbers, strings, bools, None)."""
    if not isinstance(payload, Mapping):
        raise TypeError("event payload must be a mapping")
    normalised: dict[str, Any] = json.loads(json.dumps(payload, default=_json_default, allow_nan=False))
    return normalised


@dataclass(frozen=True, slots=True)
class Envelope:
    id: uuid.UUID
    type: str
    occurred_at: datetime
    producer: str
    payload: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    key: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.id),
            "type": self.type,
            "occurred_at": self.occurred_at.astimezone(UTC).isoformat(),
            "producer": self.producer,
            "payload": self.payload,
            "request_id": self.request_id,
            "key": self.key,
        }

    def to_fields(self) -> dict[str, str]:
        """The stream entry fields for XADD."""
        return {"type": self.type, "envelope": json.dumps(self.to_dict(), separators=(",", ":"))}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        try:
            occurred_at = datetime.fromisoformat(data["occurred_at"])
            if occurred_at.tzinfo is None:
                raise ValueError("occurred_at has no timezone")
            payload = data.get("payload") or {}
            if not isinstance(payload, dict) or not isinstance(data["type"], str) or not data["type"]:
                raise ValueError("payload must be an object and type a non-empty string")
            return cls(
                id=uuid.UUID(str(data["id"])),
                type=data["type"],
                occurred_at=occurred_at,
                producer=str(data["producer"]),
                payload=payload,
                request_id=data.get("request_id"),
                key=data.get("key"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedEvent(f"not an event envelope: {exc}") from exc

    @classmethod
    def from_fields(cls, fields: Mapping[Any, Any] | None) -> Envelope:
        """Read a stream entry (works whether the Redis client decodes responses or not)."""
        if not fields:
            raise MalformedEvent("empty stream entry")
        raw = fields.get(b"envelope", fields.get("envelope"))
        if raw is None:
            raise MalformedEvent("stream entry has no 'envelope' field")
        try:
            data = json.loads(raw)
        except (TypeError, ValueError, UnicodeDecodeError) as exc:
            raise MalformedEvent(f"envelope is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise MalformedEvent("envelope is not a JSON object")
        return cls.from_dict(data)
