"""HTTP for Stripe's webhooks: public (no JWT), authenticated by the Stripe signature; and the
list of stored events that were flagged or failed, and retrying one, for support and admin."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Request, Response

from mcm_payments.deps import InterventionStaff, RuntimeDep
from mcm_payments.webhooks import service
from mcm_payments.webhooks.errors import (
    InvalidSignature,
    RetryInProgress,
    WebhookEventNotFound,
    WebhookStorageFailed,
    WebhookTooLarge,
)
from mcm_payments.webhooks.schemas import FlaggedPage, RetryRequest, RetryResult, WebhookAck, WebhookRecord
from mcm_shared.errors import Forbidden, problem_responses
from mcm_shared.pagination import PageParams, page_params
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/payments/webhooks", tags=["webhooks"])

MAX_BODY = 512 * 1024  # Stripe events are a few kB; anything huge is not from Stripe

# The two possible answer bodies, serialised once (Stripe posts many; `WebhookAck` documents
# them). A fresh Response each time: middleware may add headers to a response's header list.
_ACK = {duplicate: WebhookAck(duplicate=duplicate).model_dump_json().encode() for duplicate in (False, True)}


async def _raw_body(request: Request) -> bytes:
    """The exact bytes Stripe signed (never re-serialised), read with a size cap."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise WebhookTooLarge("The body is larger than any Stripe event.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise WebhookTooLarge("The body is larger than any Stripe event.")
    return bytes(body)


@router.post(
    "/stripe",
    summary="Stripe webhook endpoint (signature-checked, stored before it is acknowledged, processed right after)",
    response_model=WebhookAck,
    responses=problem_responses(InvalidSignature, WebhookTooLarge, WebhookStorageFailed),
)
async def stripe_webhook(request: Request, runtime: RuntimeDep) -> Response:
    raw = await _raw_body(request)
    settings = runtime.settings
    event, payload = service.verify(
        raw,
        request.headers.get("stripe-signature"),
        settings.stripe_webhook_secret.get_secret_value(),
        settings.stripe_webhook_tolerance_seconds,
    )
    stored = await service.receive(runtime, event, payload)
    return Response(_ACK[not stored], media_type="application/json")


@router.get(
    "/flagged",
    summary="Stored Stripe events that were flagged or could not be processed (support, admin)",
    responses=problem_responses(Forbidden),
)
async def flagged_events(
    principal: InterventionStaff, session: SessionDep, paging: Annotated[PageParams, Depends(page_params)]
) -> FlaggedPage:
    rows, cursor = await service.flagged(session, limit=paging.limit, cursor=paging.cursor)
    return FlaggedPage(items=[WebhookRecord.model_validate(row) for row in rows], next_cursor=cursor)


@router.post(
    "/flagged/{event_id}/retry",
    summary="Process a flagged or failing Stripe event again, now (support, admin; audited)",
    responses=problem_responses(Forbidden, WebhookEventNotFound, RetryInProgress),
)
async def retry_event(
    principal: InterventionStaff,
    runtime: RuntimeDep,
    event_id: Annotated[
        str, Path(max_length=255, description="The Stripe event id (evt_…) or the stored row's id, as listed")
    ],
    body: Annotated[RetryRequest | None, Body()] = None,
) -> RetryResult:
    retried = await service.retry(runtime, principal, event_id, reason=body.reason if body else None)
    return RetryResult(
        result=retried.result,
        outcome=retried.row.outcome,
        reason=retried.reason,
        event=WebhookRecord.model_validate(retried.row),
    )
