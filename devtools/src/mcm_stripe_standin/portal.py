"""The customer (billing) portal: `POST /v1/billing_portal/sessions` (emits
`billing_portal.session.created`) and what a customer can do on the session's page — set a new
default card, cancel a subscription at the end of its period (or take that back), pause
collection and resume it. Each action changes the objects as Stripe's
portal does and emits the events Stripe sends for it:

- new card: `payment_method.attached`, `customer.updated` (`invoice_settings.default_payment_method`
  in `previous_attributes`) and `customer.subscription.updated` for each live subscription that
  carried its own default card;
- cancel / keep: `customer.subscription.updated` (`cancel_at_period_end`, `cancel_at`,
  `cancellation_details`); the subscription ends (`customer.subscription.deleted`) when its period
  does (`POST /_standin/subscriptions/{id}/renew`);
- pause / resume: `customer.subscription.updated` (`pause_collection`, behaviour `void`).
"""

from __future__ import annotations

from typing import Any

from mcm_stripe_standin import billing, objects
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.state import StripeError, now, snapshot

# What the page offers for a pause (the portal lets the customer choose when collection resumes).
PAUSE_MONTHS = (1, 2, 3)


def create_session(s: StandIn, params: dict[str, Any]) -> dict[str, Any]:
    customer_id = params.get("customer")
    if not customer_id:
        raise StripeError(400, "Missing required param: customer.", param="customer")
    s.customer(str(customer_id), "customer")
    return_url = params.get("return_url") or None
    portal = s.store.add(
        objects.portal_session(customer_id=str(customer_id), return_url=return_url, base_url=s.base_url)
    )
    s.emit("billing_portal.session.created", portal)
    return portal


def session(s: StandIn, session_id: str) -> dict[str, Any]:
    return s.store.get(session_id, "billing_portal.session", "billing portal session")


def subscriptions(s: StandIn, customer_id: str) -> list[dict[str, Any]]:
    """The customer's subscriptions that are still live, newest first."""
    live = [sub for sub in s.store.find("subscription", customer=customer_id) if sub["status"] in billing.LIVE]
    return sorted(live, key=lambda sub: sub["created"], reverse=True)


def _own_subscription(s: StandIn, portal: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = s.store.objects.get(sub_id)
    if sub is None or sub.get("object") != "subscription" or sub["customer"] != portal["customer"]:
        raise StripeError(404, "No such subscription for this customer.", code="resource_missing")
    if sub["status"] not in billing.LIVE:
        raise StripeError(400, f"This subscription is {sub['status']}.", code="subscription_not_live")
    return sub


def update_card(s: StandIn, portal: dict[str, Any], card_number: str | None) -> dict[str, Any]:
    """The customer adds a card and makes it the default, for the customer and for every live
    subscription (which then charges it from the next attempt on)."""
    customer = s.customer(portal["customer"])
    pm = s.new_payment_method(s.card(card_number), customer["id"])
    s.emit("payment_method.attached", pm)
    settings = customer.setdefault("invoice_settings", {"default_payment_method": None})
    previous = {"invoice_settings": {"default_payment_method": settings.get("default_payment_method")}}
    settings["default_payment_method"] = pm["id"]
    s.emit("customer.updated", customer, previous)
    for sub in subscriptions(s, customer["id"]):
        if sub.get("default_payment_method") and sub["default_payment_method"] != pm["id"]:
            changed = {"default_payment_method": sub["default_payment_method"]}
            sub["default_payment_method"] = pm["id"]
            s.emit("customer.subscription.updated", sub, changed)
    return pm


def cancel(s: StandIn, portal: dict[str, Any], sub_id: str) -> dict[str, Any]:
    """Cancel at the end of the paid period (the portal's default): nothing more is billed, and the
    customer can take it back until then."""
    sub = _own_subscription(s, portal, sub_id)
    if sub["cancel_at_period_end"]:
        return sub
    previous = {
        "cancel_at_period_end": False,
        "cancel_at": sub["cancel_at"],
        "canceled_at": sub["canceled_at"],
        "cancellation_details": snapshot(sub["cancellation_details"]),
    }
    sub.update({"cancel_at_period_end": True, "cancel_at": sub["current_period_end"], "canceled_at": now()})
    sub["cancellation_details"]["reason"] = "cancellation_requested"
    s.emit("customer.subscription.updated", sub, previous)
    return sub


def keep(s: StandIn, portal: dict[str, Any], sub_id: str) -> dict[str, Any]:
    """Take back a cancellation that has not taken effect yet ("Renew" in Stripe's portal)."""
    sub = _own_subscription(s, portal, sub_id)
    if not sub["cancel_at_period_end"]:
        return sub
    previous = {
        "cancel_at_period_end": True,
        "cancel_at": sub["cancel_at"],
        "canceled_at": sub["canceled_at"],
        "cancellation_details": snapshot(sub["cancellation_details"]),
    }
    sub.update({"cancel_at_period_end": False, "cancel_at": None, "canceled_at": None})
    sub["cancellation_details"]["reason"] = None
    s.emit("customer.subscription.updated", sub, previous)
    return sub


def pause(s: StandIn, portal: dict[str, Any], sub_id: str, months: int) -> dict[str, Any]:
    """Pause collection (invoices raised meanwhile are voided) until `months` from now."""
    if months not in PAUSE_MONTHS:
        raise StripeError(400, "Choose how many months to pause for.", param="months")
    sub = _own_subscription(s, portal, sub_id)
    resumes_at = objects.add_month(now())
    for _ in range(months - 1):
        resumes_at = objects.add_month(resumes_at)
    previous = {"pause_collection": snapshot(sub["pause_collection"])}
    sub["pause_collection"] = {"behavior": "void", "resumes_at": resumes_at}
    s.emit("customer.subscription.updated", sub, previous)
    return sub


def resume(s: StandIn, portal: dict[str, Any], sub_id: str) -> dict[str, Any]:
    sub = _own_subscription(s, portal, sub_id)
    if sub["pause_collection"] is None:
        return sub
    previous = {"pause_collection": snapshot(sub["pause_collection"])}
    sub["pause_collection"] = None
    s.emit("customer.subscription.updated", sub, previous)
    return sub
