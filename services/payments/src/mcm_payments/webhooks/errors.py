from __future__ import annotations

from mcm_shared.errors import Conflict, DependencyUnavailable, NotFound, ProblemError


class InvalidSignature(ProblemError):
    status, type_slug, title = 400, "invalid-webhook-signature", "Invalid webhook signature"


class InvalidWebhook(ProblemError):
    status, type_slug, title = 400, "invalid-webhook", "Invalid webhook payload"


class WebhookTooLarge(ProblemError):
    status, type_slug, title = 413, "webhook-too-large", "Webhook payload too large"


class WebhookStorageFailed(DependencyUnavailable):
    """Not stored, so not acknowledged: Stripe will send it again."""

    type_slug, title = "webhook-not-stored", "Webhook could not be stored"


class WebhookEventNotFound(NotFound):
    type_slug, title = "webhook-event-not-found", "No such stored Stripe event"


class RetryInProgress(Conflict):
    type_slug, title = "webhook-being-processed", "The event is being processed right now"
