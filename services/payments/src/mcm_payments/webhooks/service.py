"""Stripe webhooks: verify the signature on the raw body, store the event in the inbox (unique
by Stripe event id) and commit BEFORE answering 2xx, then process it.

Processing runs in its own transaction holding the inbox row's lock (SKIP LOCKED, so a
concurrent duplicate simply skips), right after storing and again from the background worker
for rows that failed or were never processed. A processing failure never turns into a non-2xx
answer: the event is stored, so it will be processed; only a storage failure answers 503, so
Stripe sends the event again.
"""
from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import stripe
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.events.worker import is_transient

from mcm_payments import cursors
from mcm_payments.runtime import Runtime
from mcm_payments.stripe_api import StripeUnavailable
from mcm_payments.webhooks import handlers
from mcm_payments.webhooks.errors import InvalidSignature, InvalidWebhook, WebhookStorageFailed
from mcm_payments.webhooks.models import WebhookEvent
from mcm_payments.webhooks.repository import WebhookRepository

logger = logging.getLogger("mcm.payments.webhooks")

FLAGGED = {"unknown_customer", "unknown_obligation", "mismatch"}


@dataclass(frozen=True)
class Stored:
    row_id: uuid.UUID
    inserted: bool


def verify(raw: bytes, header: str | None, secret: str, tolerance: int) -> dict[str, Any]:
    """The event, if `header` is Stripe's signature of exactly these bytes within `tolerance`."""
    if not header:
        raise InvalidSignature("The Stripe-Signature header is missing.")
    try:
        payload = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidWebhook("The body is not UTF-8.") from None
    try:
        stripe.WebhookSignature.verify_header(payload, header, secret, tolerance)
    except stripe.SignatureVerificationError:
        raise InvalidSignature("The signature does not match the body, or it is too old.") from None
    except (ValueError, IndexError):  # a header that is not t=…,v1=… at all
        raise InvalidSignature("The Stripe-Signature header is malformed.") from None
    try:
        event = json.loads(payload)
    except ValueError:
        raise InvalidWebhook("The body is not JSON.") from None
    if (
        not isinstance(event, dict) or not isinstance(event.get("id"), str) or not isinstance(event.get("type"), str)
        or not isinstance(event.get("created"), int) or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise InvalidWebhook("The body is not a Stripe event.")
    return event


async def store(runtime: Runtime, event: dict[str, Any]) -> Stored:
    try:
        async with runtime.sessionmaker() as session, session.begin():
            row_id, inserted = await WebhookRepository(session).store(event)
    except (SQLAlchemyError, OSError) as exc:
        logger.error("webhook not stored", extra={"stripe_event_id": event.get("id"), "error": type(exc).__name__})
        raise WebhookStorageFailed("The event could not be stored; please retry.") from exc
    return Stored(row_id, inserted)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** attempts))


async def process(runtime: Runtime, row_id: uuid.UUID) -> str | None:
    """Process one stored event. Returns its outcome, or None if it was not ours to process."""
    try:
        async with runtime.sessionmaker() as session, session.begin():
            row = await WebhookRepository(session).claim(row_id)
            if row is None:
                return None
            outcome = await handlers.dispatch(session, runtime, row.payload)
            row.processed_at, row.outcome = datetime.now(UTC), outcome
            row.flagged = outcome in FLAGGED
            row.attempts += 1
            row.last_error = None
        runtime.kick()
        return outcome
    except Exception as exc:  # recorded and retried; the event is safe in the inbox
        transient = isinstance(exc, StripeUnavailable) or is_transient(exc)
        logger.warning("webhook processing failed", exc_info=not transient, extra={"webhook_row": str(row_id), "error": type(exc).__name__})
        try:
            async with runtime.sessionmaker() as session, session.begin():
                repository = WebhookRepository(session)
                attempts = await repository.attempts(row_id)
                give_up = not transient and attempts + 1 >= runtime.settings.webhook_max_attempts
                await repository.failed(row_id, f"{type(exc).__name__}: {exc}", _backoff(attempts), give_up=give_up)
        except Exception:  # the database itself is down: the worker will find the row later
            logger.warning("could not record webhook failure", extra={"webhook_row": str(row_id)})
        return "failed"


async def flagged(session: AsyncSession, *, limit: int, cursor: str | None) -> tuple[list[WebhookEvent], str | None]:
    rows = await WebhookRepository(session).flagged(limit, cursors.after(cursor))
    return cursors.page(rows, limit, lambda row: (row.received_at, row.id))


async def process_due(runtime: Runtime, limit: int = 20) -> int:
    async with runtime.sessionmaker() as session:
        due = await WebhookRepository(session).due(limit)
    for row_id in due:
        await process(runtime, row_id)
    return len(due)
