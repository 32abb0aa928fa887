"""Customers, prices and Checkout Sessions: create, retrieve, expire, and complete (pay/decline)."""

from __future__ import annotations

from typing import Any

from mcm_stripe_standin import billing, objects
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.forms import FormError, to_int
from mcm_stripe_standin.state import StripeError, now

MODES = {"payment", "subscription"}
SESSION_LIFETIME = 24 * 3600


def _metadata(params: dict[str, Any], key: str = "metadata") -> dict[str, str]:
    value = params.get(key) or {}
    if not isinstance(value, dict):
        raise StripeError(400, f"Invalid object: {key}", param=key)
    if len(value) > 50 or any(len(k) > 40 or len(str(v)) > 500 for k, v in value.items()):
        raise StripeError(400, "Metadata may have up to 50 keys of 40 characters and values of 500.", param=key)
    return {k: str(v) for k, v in value.items() if v != ""}


def create_customer(s: StandIn, params: dict[str, Any]) -> dict[str, Any]:
    params = {**params, "metadata": _metadata(params)}
    return s.store.add(objects.customer(params))


def delete_customer(s: StandIn, customer_id: str) -> dict[str, Any]:
    """As Stripe: the customer is gone for good and its subscriptions are cancelled at once; the id
    then reads `{id, object, deleted: true}`, and naming it in a new request is `resource_missing`."""
    s.customer(customer_id)
    for sub in s.store.find("subscription", customer=customer_id):
        if sub["status"] != "canceled":
            billing.cancel(s, sub["id"])
    return s.store.add({"id": customer_id, "object": "customer", "deleted": True})


def create_price(s: StandIn, params: dict[str, Any], param: str = "") -> dict[str, Any]:
    try:
        currency = str(params["currency"]).lower()
        unit_amount = to_int(params["unit_amount"], f"{param}unit_amount")
    except KeyError as exc:
        raise StripeError(
            400, f"Missing required param: {param}{exc.args[0]}.", param=f"{param}{exc.args[0]}"
        ) from None
    if len(currency) != 3 or not currency.isalpha():
        raise StripeError(400, f"Invalid currency: {currency}.", param=f"{param}currency")
    if unit_amount < 0 or unit_amount > 99_999_999:
        raise StripeError(400, "Invalid unit_amount.", param=f"{param}unit_amount")
    product_id = params.get("product")
    if product_id:
        s.store.get(product_id, "product")
    else:
        product_data = params.get("product_data") or {}
        if not isinstance(product_data, dict) or not product_data.get("name"):
            raise StripeError(400, f"Missing required param: {param}product_data[name].", param=f"{param}product_data")
        product_id = s.store.add(objects.product(product_data["name"], _metadata(product_data)))["id"]
    recurring = params.get("recurring") or None
    if recurring is not None and (
        not isinstance(recurring, dict) or recurring.get("interval") not in {"day", "week", "month", "year"}
    ):
        raise StripeError(400, "Invalid recurring[interval].", param=f"{param}recurring")
    return s.store.add(
        objects.price(
            currency=currency,
            unit_amount=unit_amount,
            product_id=product_id,
            recurring=recurring,
            metadata=_metadata(params),
        )
    )


def _line_items(s: StandIn, params: dict[str, Any], mode: str) -> list[dict[str, Any]]:
    raw = params.get("line_items")
    if not isinstance(raw, list) or not raw:
        raise StripeError(400, "Missing required param: line_items.", param="line_items")
    lines = []
    for index, item in enumerate(raw):
        prefix = f"line_items[{index}][price_data]"
        if not isinstance(item, dict):
            raise StripeError(400, "Invalid line item.", param=f"line_items[{index}]")
        if item.get("price"):
            price = s.store.get(item["price"], "price")
        elif isinstance(item.get("price_data"), dict):
            price = create_price(s, item["price_data"], prefix + "[")
        else:
            raise StripeError(400, "Each line item needs price or price_data.", param=f"line_items[{index}]")
        quantity = to_int(item.get("quantity", 1), f"line_items[{index}][quantity]")
        if quantity < 1:
            raise StripeError(400, "Quantity must be at least 1.", param=f"line_items[{index}][quantity]")
        if mode == "payment" and price["recurring"]:
            raise StripeError(400, "You specified `payment` mode but passed a recurring price.", param="line_items")
        product = s.store.objects.get(price["product"], {})
        lines.append(objects.line_item(price, quantity, product.get("name", "Item")))
    if mode == "subscription" and not any(line["price"]["recurring"] for line in lines):
        raise StripeError(
            400, "You must provide at least one recurring price in `subscription` mode.", param="line_items"
        )
    if len({line["currency"] for line in lines}) != 1:
        raise StripeError(400, "All line items must use the same currency.", param="line_items")
    return lines


def create_session(s: StandIn, params: dict[str, Any]) -> dict[str, Any]:
    mode = params.get("mode")
    if mode not in MODES:
        raise StripeError(400, "Invalid mode: must be one of payment or subscription.", param="mode")
    if not params.get("success_url"):
        raise StripeError(400, "Missing required param: success_url.", param="success_url")
    customer_id = params.get("customer") or None
    if customer_id:
        s.customer(customer_id, param="customer")
    lines = _line_items(s, params, mode)
    try:
        expires_at = (
            to_int(params["expires_at"], "expires_at") if params.get("expires_at") else now() + SESSION_LIFETIME
        )
    except FormError as exc:
        raise StripeError(400, str(exc), param="expires_at") from None
    session = objects.base("cs_test", "checkout.session", _metadata(params))
    session.update(
        {
            "mode": mode,
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer_id,
            "client_reference_id": params.get("client_reference_id"),
            "success_url": params["success_url"],
            "cancel_url": params.get("cancel_url"),
            "url": f"{s.base_url}/c/pay/{session['id']}",
            "amount_subtotal": sum(line["amount_subtotal"] for line in lines),
            "amount_total": sum(line["amount_total"] for line in lines),
            "currency": lines[0]["currency"],
            "expires_at": expires_at,
            "subscription": None,
            "payment_intent": None,
            "invoice": None,
            "customer_details": None,
            "payment_method_types": ["card"],
            "ui_mode": "hosted",
            "subscription_data": {"metadata": _metadata(params.get("subscription_data") or {})},
            "payment_intent_data": {
                "metadata": _metadata(params.get("payment_intent_data") or {}),
                "description": (params.get("payment_intent_data") or {}).get("description"),
            },
        }
    )
    s.store.add(session)
    s.session_lines[session["id"]] = lines
    return session


def _open_session(s: StandIn, session_id: str) -> dict[str, Any]:
    session = s.store.get(session_id, "checkout.session")
    if session["status"] == "open" and session["expires_at"] <= now():
        expire_session(s, session_id)
    if session["status"] != "open":
        raise StripeError(400, f"This Checkout Session is {session['status']}.", code="checkout_session_not_open")
    return session


def expire_session(s: StandIn, session_id: str) -> dict[str, Any]:
    session = s.store.get(session_id, "checkout.session")
    if session["status"] == "complete":
        raise StripeError(
            400, "Only Checkout Sessions with a status of `open` can be expired.", code="checkout_session_not_open"
        )
    if session["status"] == "open":
        session["status"] = "expired"
        s.emit("checkout.session.expired", session)
    return session


def complete_session(s: StandIn, session_id: str, card_number: str | None) -> tuple[bool, dict[str, Any]]:
    """Pay (or fail to pay) a session with a test card. Returns (paid, session)."""
    session = _open_session(s, session_id)
    card = s.card(card_number)
    customer_id = session["customer"]
    if customer_id is None and session["mode"] == "subscription":
        customer_id = session["customer"] = create_customer(s, {})["id"]
    pm = s.new_payment_method(card, customer_id)
    lines = s.session_lines[session_id]
    if session["mode"] == "payment":
        data = session["payment_intent_data"]
        intent, _ = s.charge(
            amount=session["amount_total"],
            currency=session["currency"],
            customer_id=customer_id,
            pm=pm,
            succeed=card.pays_first,
            metadata=data["metadata"],
            description=data.get("description"),
        )
        if not card.pays_first:
            return False, session
        session["payment_intent"] = intent["id"]
    else:
        if not card.pays_first:
            return False, session  # Checkout keeps the customer on the page; no subscription yet
        sub, invoice = billing.start_subscription(
            s, customer_id=customer_id, lines=lines, pm=pm, metadata=session["subscription_data"]["metadata"]
        )
        session["subscription"], session["invoice"] = sub["id"], invoice["id"]
    session.update({"status": "complete", "payment_status": "paid", "customer_details": {"email": None, "name": None}})
    s.emit("checkout.session.completed", session)
    return True, session
