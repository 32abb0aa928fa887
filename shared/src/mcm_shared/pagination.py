"""Keyset pagination: `limit` (1–100) plus an opaque cursor, answered as `{items, next_cursor}`.

A cursor is the sort key of the last item returned, base64url-encoded JSON. Clients treat it
as opaque; a tampered or foreign cursor is a 422, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel

from mcm_shared.errors import InvalidInput

T = TypeVar("T")

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


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


def encode_cursor(values: dict[str, Any]) -> str:
    raw = json.dumps(values, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(cursor: str | None, expected_keys: set[str]) -> dict[str, Any] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise InvalidInput(
            "The cursor is not valid.", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor"}]
        ) from None
    if not isinstance(values, dict) or set(values) != expected_keys:
        raise InvalidInput(
            "The cursor is not valid.", errors=[{"loc": ["query", "cursor"], "msg": "invalid cursor", "type": "cursor"}]
        )
    return values


def paginate(rows: list[T], limit: int, key: callable[[T], dict[str, Any]]) -> Page[T]:
    """Given up to `limit + 1` rows, return one page and the cursor of the next."""
    has_more = len(rows) > limit
    items = rows[:limit]
    next_cursor = encode_cursor(key(items[-1])) if has_more and items else None
    return Page[Any](items=items, next_cursor=next_cursor)
