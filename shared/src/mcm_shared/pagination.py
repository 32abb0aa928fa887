"""Keyset pagination: `limit` (1 to 100) plus an opaque cursor, answered as `{items, next_cursor}`.

A cursor is the sort key of the last item returned, base64url-encoded JSON. Clients treat it
as opaque; a tampered or foreign cursor is a 422 ("The cursor is not valid."), never a 500.

The one keyset-cursor helper of the platform: `make_cursor`/`read_cursor` carry a (value, id)
position under a named sort, so a cursor of one list or sort order is refused by another;
`next_page` cuts `limit + 1` fetched rows into a page and the cursor of the next one.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from mcm_shared.errors import InvalidInput

T = TypeVar("T")
V = TypeVar("V")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100

_KEYSET_KEYS = frozenset({"sort", "value", "id"})


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int
    cursor: str | None


async def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def invalid_cursor() -> InvalidInput:
    """The one "cursor is not valid" problem (422) every list answers a bad cursor with."""
    return InvalidInput(
        "The cursor is not valid.", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor"}]
    )


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, expected_keys: set[str] | frozenset[str]) -> dict[str, Any] | None:
    """The values of a cursor made by `encode_cursor` with exactly these keys; None for no cursor."""
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise invalid_cursor() from None
    if not isinstance(values, dict) or set(values) != expected_keys:
        raise invalid_cursor()
    return values


# Parsers of a keyset value read back from a cursor: each raises ValueError on a foreign value.


def parse_datetime(value: Any) -> datetime:
    if not isinstance(value, str):
        raise ValueError("not a timestamp")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:  # every stored timestamp is aware; a naive one was not made by us
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


def make_cursor(sort: str, value: object, item_id: uuid.UUID) -> str:
    """The cursor after the item with this sort value and id, valid only for this `sort`."""
    if isinstance(value, datetime):
        value = value.isoformat()
    return encode_cursor({"sort": sort, "value": value, "id": str(item_id)})


def read_cursor(cursor: str | None, sort: str, parse: Callable[[Any], V]) -> tuple[V, uuid.UUID] | None:
    """(value, id) of a cursor made for this sort; None for no cursor; anything else is a 422."""
    values = decode_cursor(cursor, _KEYSET_KEYS)
    if values is None:
        return None
    if values["sort"] != sort:
        raise invalid_cursor()
    try:
        return parse(values["value"]), uuid.UUID(str(values["id"]))
    except (TypeError, ValueError, AttributeError):
        raise invalid_cursor() from None


def next_page(
    rows: Sequence[T], limit: int, sort: str, key: Callable[[T], tuple[object, uuid.UUID]]
) -> tuple[list[T], str | None]:
    """Given up to `limit + 1` rows: the page and the cursor of the next one (None on the last)."""
    items = list(rows[:limit])
    if len(rows) <= limit or not items:
        return items, None
    value, item_id = key(items[-1])
    return items, make_cursor(sort, value, item_id)
