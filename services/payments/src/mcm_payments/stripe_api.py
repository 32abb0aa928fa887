"""The one place that talks to Stripe's API (or the local stand-in at STRIPE_API_BASE).

Async calls through the official `stripe` library, each with an idempotency key where it
creates or changes something, and a short timeout. Stripe's failures are sorted into two kinds
the rest of the service understands: `StripeUnavailable` (network, 5xx, rate limit: try again
later, 503 to a client) and `StripeRejected` (Stripe said no: 4xx, don't retry as is).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import Any, cast

import stripe
from stripe.params import RefundCreateParams, SubscriptionUpdateParams
from stripe.params.checkout import SessionCreateParams

from mcm_shared.errors import DependencyUnavailable, ProblemError

logger = logging.getLogger("mcm.payments.stripe")


class StripeUnavailable(DependencyUnavailable):
    type_slug, title = "payment-provider-unavailable", "Payment provider unavailable"


class StripeRejected(ProblemError):
    status, type_slug, title = 502, "payment-provider-rejected", "Payment provider refused the request"

    def __init__(self, detail: str | None = None, *, code: str | None = None, param: str | None = None) -> None:
        super().__init__(detail)
        self.code = code
        self.param = param

    def is_missing(self, param: str) -> bool:
        """Stripe does not know the object named by `param` (`resource_missing`), e.g. a deleted customer."""
        return self.code == "resource_missing" and self.param == param


def _plain(obj: Any) -> dict[str, Any]:
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)


class StripeApi:
    def __init__(self, secret_key: str, api_base: str, *, timeout: float) -> None:
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            secret_key,
            base_addresses={"api": api_base.rstrip("/")},
            http_client=self._http,
            max_network_retries=1,
        )

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]  # stripe leaves it unannotated

    async def _call(self, what: str, call: Awaitable[Any]) -> dict[str, Any]:
        try:
            return _plain(await call)
        except (stripe.APIConnectionError, stripe.RateLimitError, stripe.APIError) as exc:
            logger.warning("stripe %s unavailable: %s", what, type(exc).__name__)
            raise StripeUnavailable("The payment provider is unavailable; try again shortly.") from exc
        except (stripe.AuthenticationError, stripe.PermissionError) as exc:
            logger.error("stripe %s: credentials refused", what)
            raise StripeUnavailable("The payment provider is not reachable with our credentials.") from exc
        except stripe.StripeError as exc:
            code, param = getattr(exc, "code", None), getattr(exc, "param", None)
            if exc.http_status and exc.http_status >= 500:
                raise StripeUnavailable("The payment provider is unavailable; try again shortly.") from exc
            logger.warning("stripe %s rejected: %s %s %s", what, code, param, exc.user_message)
            raise StripeRejected(
                exc.user_message or "The payment provider refused the request.", code=code, param=param
            ) from exc

    @staticmethod
    def _options(idempotency_key: str | None) -> stripe.RequestOptions:
        return {"idempotency_key": idempotency_key} if idempotency_key else {}

    async def create_customer(self, user_id: str, *, replaces: str | None = None) -> dict[str, Any]:
        """No contact details: Stripe knows the customer only by our user id. `replaces`: the
        customer Stripe no longer knows; it makes the key differ from the first one, which would
        replay that lost customer."""
        key = f"customer:{user_id}" + (f":replaces:{replaces}" if replaces else "")
        return await self._call(
            "customer.create",
            self._client.v1.customers.create_async(
                params={"metadata": {"user_id": user_id}}, options=self._options(key)
            ),
        )

    async def create_portal_session(self, customer_id: str, return_url: str) -> dict[str, Any]:
        """A billing portal session: read-only until the customer acts on its page, so no key."""
        return await self._call(
            "portal.create",
            self._client.v1.billing_portal.sessions.create_async(
                params={"customer": customer_id, "return_url": return_url}
            ),
        )

    async def create_checkout_session(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return await self._call(
            "checkout.create",
            self._client.v1.checkout.sessions.create_async(
                params=cast(SessionCreateParams, params), options=self._options(idempotency_key)
            ),
        )

    async def expire_checkout_session(self, session_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        return await self._call(
            "checkout.expire",
            self._client.v1.checkout.sessions.expire_async(session_id, options=self._options(idempotency_key)),
        )

    async def retrieve_subscription(self, subscription_id: str) -> dict[str, Any]:
        return await self._call("subscription.retrieve", self._client.v1.subscriptions.retrieve_async(subscription_id))

    async def update_subscription(
        self, subscription_id: str, params: dict[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        return await self._call(
            "subscription.update",
            self._client.v1.subscriptions.update_async(
                subscription_id, params=cast(SubscriptionUpdateParams, params), options=self._options(idempotency_key)
            ),
        )

    async def cancel_subscription(self, subscription_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        return await self._call(
            "subscription.cancel",
            self._client.v1.subscriptions.cancel_async(subscription_id, options=self._options(idempotency_key)),
        )

    async def pay_invoice_out_of_band(self, invoice_id: str, idempotency_key: str | None = None) -> dict[str, Any]:
        return await self._call(
            "invoice.pay",
            self._client.v1.invoices.pay_async(
                invoice_id, params={"paid_out_of_band": True}, options=self._options(idempotency_key)
            ),
        )

    async def retrieve_invoice(self, invoice_id: str) -> dict[str, Any]:
        return await self._call("invoice.retrieve", self._client.v1.invoices.retrieve_async(invoice_id))

    async def create_refund(self, params: dict[str, Any], idempotency_key: str) -> dict[str, Any]:
        return await self._call(
            "refund.create",
            self._client.v1.refunds.create_async(
                params=cast(RefundCreateParams, params), options=self._options(idempotency_key)
            ),
        )
