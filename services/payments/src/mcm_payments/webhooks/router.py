"""HTTP for Stripe's webhooks: public (no JWT), authenticated by the Stripe signature."""
from __future__ import annotations

from fastapi import APIRouter, Request

from mcm_shared.errors import problem_responses

from mcm_payments.runtime import RuntimeDep
from mcm_payments.webhooks import service
from mcm_payments.webhooks.errors import InvalidSignature, WebhookStorageFailed, WebhookTooLarge
from mcm_payments.webhooks.schemas import WebhookAck

router = APIRouter(prefix="/api/v1/payments/webhooks", tags=["webhooks"])

MAX_BODY = 512 * 1024  # Stripe events are a few kB; anything huge is not from Stripe


@router.post(
    "/stripe",
    summary="Stripe webhook endpoint (signature-checked, stored before it is acknowledged)",
    responses=problem_responses(InvalidSignature, WebhookTooLarge, WebhookStorageFailed),
)
async def stripe_webhook(request: Request, runtime: RuntimeDep) -> WebhookAck:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_BODY:
        raise WebhookTooLarge("The body is larger than any Stripe event.")
    raw = await request.body()  # the exact bytes Stripe signed: never re-serialised
    if len(raw) > MAX_BODY:
        raise WebhookTooLarge("The body is larger than any Stripe event.")
    settings = runtime.settings
    event = service.verify(raw, request.headers.get("stripe-signature"), settings.stripe_webhook_secret.get_secret_value(),
                           settings.stripe_webhook_tolerance_seconds)
    stored = await service.store(runtime, event)
    await service.process(runtime, stored.row_id)
    return WebhookAck(duplicate=not stored.inserted)

