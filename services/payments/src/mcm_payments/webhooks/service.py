"""Stripe webhooks: verify the signature on the raw body, store the event in the inbox (unique
by Stripe event id) and commit BEFORE answering 2xx; process it after answering.

Storing is one autocommitted INSERT … ON CONFLICT DO NOTHING, shared by the webhooks that
arrive together (group commit, webhooks/inbox.py): each is answered only after the commit that
stored it, which is durable (flushed to disk). A newly stored event is then
handed to this process's webhook processor (webhooks/processor.py), which processes whatever
has arrived in batches: one transaction claims the rows (SKIP LOCKED, so rows another
transaction is processing are left to it), dispatches each event and marks them processed.
If any event of a batch fails, the batch is rolled back and each event is processed alone in
its own transaction, its failure recorded and retried with backoff. The background worker
sweeps the inbox for rows that failed, or that no processor took within `SWEEP_AFTER` (the
process crashed after storing). A processing failure never turns into a non-2xx answer: the
event is stored, so it will be processed; only a storage failure answers 503, so Stripe sends
the event again.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import stripe
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_payments.roles import actor_of
from mcm_payments.runtime import PaymentsRuntime
from mcm_payments.stripe_api import StripeUnavailable
from mcm_payments.tasks.models import StripeTask
from mcm_payments.webhooks import handlers
from mcm_payments.webhooks.errors import (
    InvalidSignature,
    InvalidWebhook,
    RetryInProgress,
    WebhookEventNotFound,
    WebhookStorageFailed,
)
from mcm_payments.webhooks.models import WebhookEvent
from mcm_payments.webhooks.repository import WebhookRepository, inbox_row
from mcm_shared.events.worker import is_transient
from mcm_shared.pagination import next_page, parse_datetime, read_cursor
from mcm_shared.security import Principal

# Cursors name their list, so one list's cursor is refused by another (mcm_shared.pagination).
FLAGGED_SORT = "flagged_webhooks"

logger = logging.getLogger("mcm.payments.webhooks")

FLAGGED = {"unknown_customer", "unknown_obligation", "mismatch"}
# What a flagged outcome means, for staff retrying the event.
FLAGGED_REASONS = {
    "unknown_customer": "The event names a Stripe customer that is not linked to any member.",
    "unknown_obligation": "The event names no obligation we know (metadata or subscription).",
    "mismatch": "The event's Stripe customer is not the obligation's member.",
}
# How long the worker's sweep leaves a freshly stored row to the process that stored it (which
# processes it within milliseconds unless it crashed).
SWEEP_AFTER = timedelta(seconds=2)
MAX_CREATED = 253402300800  # 10000-01-01: a `created` beyond is no Stripe timestamp


def verify(raw: bytes, header: str | None, secret: str, tolerance: int) -> tuple[dict[str, Any], str]:
    """The event and its JSON text, if `header` is Stripe's signature of exactly these bytes
    within `tolerance`."""
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
        not isinstance(event, dict)
        or not isinstance(event.get("id"), str)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("created"), int)
        or not 0 <= event["created"] < MAX_CREATED
        or not isinstance((event.get("data") or {}).get("object"), dict)
    ):
        raise InvalidWebhook("The body is not a Stripe event.")
    return event, payload


async def receive(runtime: PaymentsRuntime, event: dict[str, Any], payload: str) -> bool:
    """Store a verified event (committed when this returns) and have it processed soon.
    Returns False if it was already stored (a redelivery: nothing more to do)."""
    try:
        row_id = await runtime.webhook_inbox.store(inbox_row(event, payload))
    except (SQLAlchemyError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError) as exc:
        logger.error("webhook not stored", extra={"stripe_event_id": event.get("id"), "error": type(exc).__name__})
        raise WebhookStorageFailed("The event could not be stored; please retry.") from exc
    if row_id is None:
        return False
    runtime.process_soon(row_id, event)
    return True


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2**attempts))


async def process(runtime: PaymentsRuntime, row_id: uuid.UUID) -> str | None:
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
        logger.warning(
            "webhook processing failed",
            exc_info=not transient,
            extra={"webhook_row": str(row_id), "error": type(exc).__name__},
        )
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
    rows = await WebhookRepository(session).flagged(limit, read_cursor(cursor, FLAGGED_SORT, parse_datetime))
    return next_page(rows, limit, FLAGGED_SORT, lambda row: (row.received_at, row.id))


async def process_batch(runtime: PaymentsRuntime, events: Mapping[uuid.UUID, dict[str, Any]]) -> int:
    """Process stored events (row id → event) in one transaction, oldest event first; rows
    already processed, or being processed elsewhere, are skipped. If any event fails, none of
    the batch is kept and each is processed alone (`process`), so one bad event neither holds
    back the others nor escapes having its failure recorded. Returns how many were ours to process."""
    if not events:
        return 0
    outcomes: dict[uuid.UUID, str] = {}
    try:
        async with runtime.sessionmaker() as session, session.begin():
            repository = WebhookRepository(session)
            for row_id in await repository.claim_many(list(events)):
                outcomes[row_id] = await handlers.dispatch(session, runtime, events[row_id])
            await repository.processed(outcomes, FLAGGED)
            enqueued = any(isinstance(obj, StripeTask) for obj in (*session.new, *session.identity_map.values()))
    except Exception as exc:
        logger.info(
            "webhook batch failed; processing its events one by one",
            extra={"events": len(events), "error": type(exc).__name__},
        )
        return sum([await process(runtime, row_id) is not None for row_id in events])
    if enqueued:
        runtime.kick()  # run the Stripe tasks the handlers decided, now that they are committed
    return len(outcomes)


async def process_due(runtime: PaymentsRuntime, limit: int = 20) -> int:
    """The worker's sweep: rows whose processing failed earlier, or that nobody took."""
    async with runtime.sessionmaker() as session:
        due = await WebhookRepository(session).due(limit)
    return await process_batch(runtime, due)


RetryOutcome = Literal["processed", "still_failing", "already_processed"]


@dataclass(frozen=True, slots=True)
class Retried:
    result: RetryOutcome
    row: WebhookEvent
    reason: str | None = None


async def retry(runtime: PaymentsRuntime, principal: Principal, reference: str, *, reason: str | None) -> Retried:
    """Staff process a stored event again, now, through the same handlers (support, admin).

    Only an event that was flagged or has not been applied is processed again; one already
    applied (or ignored, or stale) is left as it is: the handlers are idempotent, but a retry must
    not even look as if it did something twice. The event row is locked for the retry (409 while
    the processor holds it), and every retry is audited with its result."""
    async with runtime.sessionmaker() as session, session.begin():
        repository = WebhookRepository(session)
        found = await repository.find(reference)
        if found is None:
            raise WebhookEventNotFound("No stored Stripe event has this id.")
        row = await repository.lock_any(found.id)
        if row is None:
            raise RetryInProgress("The event is being processed right now; look again in a moment.")
        before = row.outcome
        retried = await _retry_locked(session, runtime, row)
        repository.record_retry(
            webhook_event_id=row.id,
            actor=actor_of(principal),
            actor_roles=sorted(principal.roles),
            reason=reason,
            outcome_before=before,
            result=retried.result,
            outcome_after=row.outcome,
            error=retried.reason if retried.result == "still_failing" else None,
        )
    runtime.kick()  # Stripe tasks the handlers decided
    logger.info(
        "webhook retried by staff",
        extra={"stripe_event_id": row.stripe_event_id, "result": retried.result, "actor": actor_of(principal)},
    )
    return retried


async def _retry_locked(session: AsyncSession, runtime: PaymentsRuntime, row: WebhookEvent) -> Retried:
    if row.processed_at is not None and not row.flagged:
        return Retried("already_processed", row)
    try:
        # A savepoint: a handler that fails leaves nothing behind, and the failure is recorded.
        async with session.begin_nested():
            outcome = await handlers.dispatch(session, runtime, row.payload)
    except Exception as exc:
        if is_transient(exc) and not isinstance(exc, StripeUnavailable):
            raise  # the database itself: 503, nothing recorded
        error = f"{type(exc).__name__}: {exc}"[:2000]
        row.attempts, row.last_error = row.attempts + 1, error
        return Retried("still_failing", row, error)
    row.processed_at, row.outcome = datetime.now(UTC), outcome
    row.flagged, row.attempts, row.last_error = outcome in FLAGGED, row.attempts + 1, None
    if outcome in FLAGGED:
        return Retried("still_failing", row, FLAGGED_REASONS[outcome])
    return Retried("processed", row)
