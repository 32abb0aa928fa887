"""Keyset cursors over (value, id) pairs, on top of mcm_shared.pagination's opaque encoding."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from mcm_shared.errors import InvalidInput
from mcm_shared.pagination import decode_cursor, encode_cursor


def _bad() -> InvalidInput:
    return InvalidInput(
        "The cursor is not valid.", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor"}]
    )


def parse_datetime(value: Any) -> datetime:
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive datetime")
    return parsed


def parse_str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("not a string")
    return value


def parse_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("not an integer")
    return value


def make_cursor(sort: str, value: Any, item_id: uuid.UUID) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return encode_cursor({"sort": sort, "value": value, "id": str(item_id)})


def read_cursor(cursor: str | None, sort: str, parse: Callable[[Any], Any]) -> tuple[Any, uuid.UUID] | None:
    """(value, id) of a cursor made for this sort; a cursor from another sort or list is a 422."""
    values = decode_cursor(cursor, {"sort", "value", "id"})
    if values is None:
        return None
    if values["sort"] != sort:
        raise _bad()
    try:
        return parse(values["value"]), uuid.UUID(str(values["id"]))
    except (TypeError, ValueError, AttributeError):
        raise _bad() from None
