"""`Idempotency-Key` for our own POSTs that move money: the first response is stored with a
hash of the request and replayed for the same key; the same key with another body is a 422."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, String, Text, delete, func, select, text
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from mcm_payments.db import Base
from mcm_shared.errors import InvalidInput

MAX_KEY_LENGTH = 255


class IdempotencyRecord(Base):
    __tablename__ = "idempotency_keys"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(Text, primary_key=True)  # the caller's subject
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))


class IdempotencyKeyReused(InvalidInput):
    type_slug, title = "idempotency-key-reused", "Idempotency key reused with a different request"


def request_hash(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str, separators=(",", ":")).encode()).hexdigest()


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise InvalidInput(
            # the en dash is part of the documented message clients see
            "The Idempotency-Key header must be 1–255 printable characters.",
            errors=[{"loc": ["header", "Idempotency-Key"], "msg": "invalid idempotency key", "type": "value_error"}],
        )
    return key


async def replay(session: AsyncSession, scope: str, owner: str, key: str | None, digest: str) -> dict[str, Any] | None:
    """The stored response for this key, or None; 422 when the key was used for another request."""
    if key is None:
        return None
    record = await session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.scope == scope, IdempotencyRecord.owner == owner, IdempotencyRecord.key == key
        )
    )
    if record is None:
        return None
    if record.request_hash != digest:
        raise IdempotencyKeyReused("This Idempotency-Key was already used with a different request.")
    return record.response


async def remember(
    session: AsyncSession, scope: str, owner: str, key: str | None, digest: str, response: dict[str, Any]
) -> bool:
    """Store the response in the caller's transaction. False if a concurrent request won."""
    if key is None:
        return True
    result = await session.execute(
        insert(IdempotencyRecord)
        .values(scope=scope, owner=owner, key=key, request_hash=digest, response=response)
        .on_conflict_do_nothing()
        .returning(IdempotencyRecord.key)
    )
    return result.first() is not None


# Like Stripe's own keys, ours are honoured for a limited time; then the row is forgotten.
RETENTION = timedelta(days=7)


async def purge(session: AsyncSession) -> int:
    result = await session.execute(
        delete(IdempotencyRecord).where(IdempotencyRecord.created_at < func.now() - RETENTION)
    )
    return cast(CursorResult[Any], result).rowcount or 0  # a DELETE's result is a CursorResult
