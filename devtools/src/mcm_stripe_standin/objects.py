"""Constructors for objects shaped like Stripe's (the fields the platform reads, plus the usual
envelope: `id`, `object`, `created`, `livemode`, `metadata`)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mcm_stripe_standin.state import API_VERSION, new_id, now, snapshot


@dataclass(frozen=True)
class TestCard:
    number: str
    brand: str
    label: str
    pays_first: bool  # the charge made at checkout
    pays_later: bool  # renewals and retries


# The stand-in's test cards. 0341 differs slightly from Stripe's (where even the first charge
# fails): here it pays at checkout and fails every later charge, which is what a renewal
# failure test needs.
CARDS: dict[str, TestCard] = {
    card.number: card
    for card in (
        TestCard("4242424242424242", "visa", "Visa •••• 4242 — always succeeds", True, True),
        TestCard("4000000000000341", "visa", "Visa •••• 0341 — pays now, fails on renewal", True, False),
        TestCard("4000000000000002", "visa", "Visa •••• 0002 — always declined", False, False),
    )
}
DEFAULT_CARD = "4242424242424242"


def add_month(timestamp: int) -> int:
    moment = datetime.fromtimestamp(timestamp, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def base(prefix: str, kind: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"id": new_id(prefix), "object": kind, "created": now(), "livemode": False, "metadata": dict(metadata or {})}


def listing(url: str, data: list[dict[str, Any]]) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": False, "url": url, "total_count": len(data)}


def customer(params: dict[str, Any]) -> dict[str, Any]:
    obj = base("cus", "customer", params.get("metadata"))
    obj.update(
        {
            "email": params.get("email"),
            "name": params.get("name"),
            "description": params.get("description"),
            "currency": None,
            "delinquent": False,
            "invoice_prefix": obj["id"][-8:].upper(),
            "balance": 0,
            "invoice_settings": {"default_payment_method": None, "custom_fields": None, "footer": None},
        }
    )
    return obj


def product(name: str, metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    obj = base("prod", "product", metadata)
    obj.update({"name": name, "active": True, "type": "service"})
    return obj


def price(
    *,
    currency: str,
    unit_amount: int,
    product_id: str,
    recurring: dict[str, Any] | None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    obj = base("price", "price", metadata)
    obj.update(
        {
            "active": True,
            "currency": currency.lower(),
            "unit_amount": unit_amount,
            "product": product_id,
            "type": "recurring" if recurring else "one_time",
            "billing_scheme": "per_unit",
            "recurring": None
            if not recurring
            else {
                "interval": recurring.get("interval", "month"),
                "interval_count": int(recurring.get("interval_count", 1)),
                "usage_type": "licensed",
            },
        }
    )
    return obj


def payment_method(card: TestCard, customer_id: str | None) -> dict[str, Any]:
    obj = base("pm", "payment_method")
    obj.update(
        {
            "type": "card",
            "customer": customer_id,
            "card": {
                "brand": card.brand,
                "last4": card.number[-4:],
                "exp_month": 12,
                "exp_year": datetime.now(UTC).year + 3,
                "funding": "credit",
                "country": "US",
            },
            "billing_details": {"name": None, "email": None},
        }
    )
    return obj


def line_item(price_obj: dict[str, Any], quantity: int, description: str) -> dict[str, Any]:
    amount = price_obj["unit_amount"] * quantity
    return {
        "id": new_id("li"),
        "object": "item",
        "amount_subtotal": amount,
        "amount_total": amount,
        "currency": price_obj["currency"],
        "description": description,
        "price": snapshot(price_obj),
        "quantity": quantity,
    }


def payment_intent(
    *,
    amount: int,
    currency: str,
    customer_id: str | None,
    metadata: dict[str, Any] | None,
    description: str | None = None,
) -> dict[str, Any]:
    obj = base("pi", "payment_intent", metadata)
    obj.update(
        {
            "amount": amount,
            "amount_received": 0,
            "amount_capturable": 0,
            "currency": currency,
            "customer": customer_id,
            "status": "requires_payment_method",
            "latest_charge": None,
            "payment_method": None,
            "description": description,
            "last_payment_error": None,
            "capture_method": "automatic",
            "confirmation_method": "automatic",
            "payment_method_types": ["card"],
            "client_secret": None,
            "canceled_at": None,
        }
    )
    obj["client_secret"] = f"{obj['id']}_secret_{new_id('x')[2:]}"
    return obj


def charge(intent: dict[str, Any], pm: dict[str, Any], *, succeeded: bool, base_url: str) -> dict[str, Any]:
    obj = base("ch", "charge", intent.get("metadata"))
    obj.update(
        {
            "amount": intent["amount"],
            "amount_captured": intent["amount"] if succeeded else 0,
            "amount_refunded": 0,
            "currency": intent["currency"],
            "customer": intent["customer"],
            "payment_intent": intent["id"],
            "paid": succeeded,
            "captured": succeeded,
            "refunded": False,
            "status": "succeeded" if succeeded else "failed",
            "failure_code": None if succeeded else "card_declined",
            "failure_message": None if succeeded else "Your card was declined.",
            "payment_method": pm["id"],
            "payment_method_details": {
                "type": "card",
                "card": {"brand": pm["card"]["brand"], "last4": pm["card"]["last4"]},
            },
            "receipt_url": f"{base_url}/receipts/{obj['id']}" if succeeded else None,
            "refunds": listing(f"/v1/charges/{obj['id']}/refunds", []),
            "description": intent.get("description"),
            "billing_details": {"name": None, "email": None},
        }
    )
    return obj


def invoice(
    *,
    customer_id: str,
    subscription: dict[str, Any],
    lines: list[dict[str, Any]],
    reason: str,
    period_start: int,
    period_end: int,
    base_url: str,
) -> dict[str, Any]:
    obj = base("in", "invoice")
    total = sum(line["amount"] for line in lines)
    obj.update(
        {
            "customer": customer_id,
            "subscription": subscription["id"],
            "parent": {
                "type": "subscription_details",
                "quote_details": None,
                "subscription_details": {
                    "subscription": subscription["id"],
                    "metadata": dict(subscription["metadata"]),
                },
            },
            "status": "open",
            "billing_reason": reason,
            "collection_method": "charge_automatically",
            "currency": subscription["currency"],
            "amount_due": total,
            "amount_paid": 0,
            "amount_remaining": total,
            "subtotal": total,
            "total": total,
            "attempt_count": 0,
            "attempted": False,
            "paid": False,
            "paid_out_of_band": False,
            "period_start": period_start,
            "period_end": period_end,
            "payment_intent": None,
            "number": f"{customer_id[-8:].upper()}-{obj['id'][-4:].upper()}",
            "hosted_invoice_url": f"{base_url}/i/{obj['id']}",
            "invoice_pdf": f"{base_url}/i/{obj['id']}/pdf",
            "lines": listing(f"/v1/invoices/{obj['id']}/lines", lines),
            "status_transitions": {
                "finalized_at": now(),
                "paid_at": None,
                "voided_at": None,
                "marked_uncollectible_at": None,
            },
            "next_payment_attempt": None,
        }
    )
    return obj


def invoice_line(
    price_obj: dict[str, Any], quantity: int, period_start: int, period_end: int, description: str
) -> dict[str, Any]:
    return {
        "id": new_id("il"),
        "object": "line_item",
        "amount": price_obj["unit_amount"] * quantity,
        "currency": price_obj["currency"],
        "description": description,
        "quantity": quantity,
        "period": {"start": period_start, "end": period_end},
        "pricing": {
            "type": "price_details",
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
        },
        "price": snapshot(price_obj),
    }


def subscription(
    *, customer_id: str, prices: list[tuple[dict[str, Any], int]], metadata: dict[str, Any], pm_id: str, start: int
) -> dict[str, Any]:
    obj = base("sub", "subscription", metadata)
    period_end = add_month(start)
    items = [
        {
            "id": new_id("si"),
            "object": "subscription_item",
            "price": snapshot(p),
            "quantity": q,
            "current_period_start": start,
            "current_period_end": period_end,
            "created": start,
            "metadata": {},
        }
        for p, q in prices
    ]
    obj.update(
        {
            "customer": customer_id,
            "status": "incomplete",
            "currency": prices[0][0]["currency"],
            "items": listing(f"/v1/subscription_items?subscription={obj['id']}", items),
            "current_period_start": start,
            "current_period_end": period_end,
            "billing_cycle_anchor": start,
            "start_date": start,
            "cancel_at_period_end": False,
            "cancel_at": None,
            "canceled_at": None,
            "ended_at": None,
            "cancellation_details": {"reason": None, "comment": None, "feedback": None},
            "collection_method": "charge_automatically",
            "default_payment_method": pm_id,
            "latest_invoice": None,
            "pause_collection": None,
            "trial_end": None,
            "trial_start": None,
        }
    )
    return obj


def set_period(sub: dict[str, Any], start: int, end: int) -> None:
    sub["current_period_start"], sub["current_period_end"] = start, end
    for item in sub["items"]["data"]:
        item["current_period_start"], item["current_period_end"] = start, end


def refund(
    *, charge_obj: dict[str, Any], amount: int, reason: str | None, metadata: dict[str, Any] | None
) -> dict[str, Any]:
    obj = base("re", "refund", metadata)
    obj.update(
        {
            "amount": amount,
            "charge": charge_obj["id"],
            "payment_intent": charge_obj["payment_intent"],
            "currency": charge_obj["currency"],
            "status": "pending",
            "reason": reason,
            "failure_reason": None,
            "receipt_number": None,
            "destination_details": {"type": "card", "card": {"type": "refund"}},
        }
    )
    return obj


def portal_session(*, customer_id: str, return_url: str | None, base_url: str) -> dict[str, Any]:
    obj = base("bps", "billing_portal.session")
    del obj["metadata"]  # a portal session has none
    obj.update(
        {
            "customer": customer_id,
            "return_url": return_url,
            "configuration": "bpc_standin_default",
            "flow": None,
            "locale": None,
            "on_behalf_of": None,
            "url": f"{base_url}/p/session/{obj['id']}",
        }
    )
    return obj


def event(
    type_: str, obj: dict[str, Any], previous: dict[str, Any] | None, request: dict[str, Any] | None
) -> dict[str, Any]:
    data: dict[str, Any] = {"object": snapshot(obj)}
    if previous:
        data["previous_attributes"] = previous
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": request or {"id": None, "idempotency_key": None},
        "type": type_,
    }
