"""Keyset cursors over (timestamp, id), opaque to clients (see mcm_shared.pagination)."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from mcm_shared.errors import InvalidInput
from mcm_shared.pagination import decode_cursor, encode_cursor

T = TypeVar("T")
KEYS = {"t", "id"}


def after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    values = decode_cursor(cursor, KEYS)
    if values is None:
        return None
    try:
        moment = datetime.fromisoformat(values["t"])
        return moment, uuid.UUID(values["id"])
    except (TypeError, ValueError):
        raise InvalidInput(
            "The cursor is not valid.", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor"}]
        ) from None


def page(rows: Sequence[T], limit: int, key: Callable[[T], tuple[datetime, Any]]) -> tuple[list[T], str | None]:
    """Given up to limit + 1 rows: the page and the cursor of the next one."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    moment, row_id = key(items[-1])
    return items, encode_cursor({"t": moment.isoformat(), "id": str(row_id)})
