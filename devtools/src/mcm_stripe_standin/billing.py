"""Subscriptions and invoices: start at checkout, bill each period when told to, retry, pay an
open invoice (with a card or out of band), update (cancel at period end, pause collection),
cancel."""

from __future__ import annotations

from typing import Any

from mcm_stripe_standin import objects
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.forms import FormError, to_bool, to_int
from mcm_stripe_standin.state import StripeError, now

LIVE = {"active", "past_due", "incomplete", "trialing", "unpaid"}


def start_subscription(
    s: StandIn, *, customer_id: str, lines: list[dict[str, Any]], pm: dict[str, Any], metadata: dict[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Checkout in subscription mode: recurring prices become items; one-time prices are billed
    once, on the first invoice (as Stripe does)."""
    start = now()
    recurring = [(line["price"], line["quantity"]) for line in lines if line["price"]["recurring"]]
    sub = s.store.add(
        objects.subscription(customer_id=customer_id, prices=recurring, metadata=metadata, pm_id=pm["id"], start=start)
    )
    s.emit("customer.subscription.created", sub)
    end = sub["current_period_end"]
    invoice_lines = [
        objects.invoice_line(
            line["price"], line["quantity"], start, end if line["price"]["recurring"] else start, line["description"]
        )
        for line in lines
    ]
    invoice = _new_invoice(s, sub, invoice_lines, "subscription_create", start, end)
    attempt(s, invoice, first=True)
    return sub, invoice


def _new_invoice(
    s: StandIn, sub: dict[str, Any], lines: list[dict[str, Any]], reason: str, start: int, end: int
) -> dict[str, Any]:
    invoice = s.store.add(
        objects.invoice(
            customer_id=sub["customer"],
            subscription=sub,
            lines=lines,
            reason=reason,
            period_start=start,
            period_end=end,
            base_url=s.base_url,
        )
    )
    sub["latest_invoice"] = invoice["id"]
    return invoice


def attempt(s: StandIn, invoice: dict[str, Any], *, first: bool, outcome: str | None = None) -> bool:
    """Charge an open invoice with its subscription's payment method; emit what Stripe emits."""
    sub = s.store.get(invoice["subscription"], "subscription")
    pm = s.store.get(sub["default_payment_method"], "payment_method")
    succeed = s.charge_outcome(pm["id"], first=first, outcome=outcome)
    intent, _ = s.charge(
        amount=invoice["amount_due"],
        currency=invoice["currency"],
        customer_id=invoice["customer"],
        pm=pm,
        succeed=succeed,
    )
    invoice["payment_intent"] = intent["id"]
    invoice["attempt_count"] += 1
    invoice["attempted"] = True
    if succeed:
        _mark_paid(invoice, amount_paid=invoice["amount_due"])
        s.emit("invoice.paid", invoice)
        s.emit("invoice.payment_succeeded", invoice)
    else:
        invoice["next_payment_attempt"] = now() + 3 * 24 * 3600
        s.emit("invoice.payment_failed", invoice)
    _refresh_status(s, sub)
    return succeed


def _mark_paid(invoice: dict[str, Any], *, amount_paid: int, out_of_band: bool = False) -> None:
    invoice.update(
        {
            "status": "paid",
            "paid": True,
            "amount_paid": amount_paid,
            "amount_remaining": 0,
            "paid_out_of_band": out_of_band,
            "next_payment_attempt": None,
        }
    )
    invoice["status_transitions"]["paid_at"] = now()


def _refresh_status(s: StandIn, sub: dict[str, Any]) -> None:
    """active when nothing billed is unpaid, past_due otherwise; emits the change."""
    if sub["status"] == "canceled":
        return
    unpaid = [inv for inv in s.store.find("invoice", subscription=sub["id"], status="open") if inv["attempted"]]
    status = "past_due" if unpaid else "active"
    if status != sub["status"]:
        previous = {"status": sub["status"]}
        sub["status"] = status
        s.emit("customer.subscription.updated", sub, previous)


def renew(s: StandIn, sub_id: str, outcome: str | None = None) -> dict[str, Any]:
    """Move a subscription to its next period: end it if it was set to, else bill the period."""
    sub = s.store.get(sub_id, "subscription")
    if sub["status"] not in LIVE:
        raise StripeError(400, f"This subscription is {sub['status']}.", code="subscription_not_live")
    start = sub["current_period_end"]
    if sub["cancel_at_period_end"] or (sub["cancel_at"] and sub["cancel_at"] <= start):
        _end(s, sub, reason="cancellation_requested", at=start)
        return {"subscription": sub, "invoice": None}
    end = objects.add_month(start)
    previous = {
        "current_period_start": sub["current_period_start"],
        "current_period_end": sub["current_period_end"],
        "latest_invoice": sub["latest_invoice"],
    }
    objects.set_period(sub, start, end)
    lines = [
        objects.invoice_line(item["price"], item["quantity"], start, end, "Subscription renewal")
        for item in sub["items"]["data"]
    ]
    invoice = _new_invoice(s, sub, lines, "subscription_cycle", start, end)
    s.emit("customer.subscription.updated", sub, previous)
    pause = sub["pause_collection"]
    if pause and pause.get("resumes_at") and pause["resumes_at"] <= start:
        sub["pause_collection"] = pause = None
    if pause:
        invoice.update({"status": "void", "amount_remaining": 0})
        invoice["status_transitions"]["voided_at"] = now()
        s.emit("invoice.voided", invoice)
    else:
        attempt(s, invoice, first=False, outcome=outcome)
    return {"subscription": sub, "invoice": invoice}


def retry(s: StandIn, invoice_id: str, outcome: str | None = None) -> dict[str, Any]:
    invoice = _open_invoice(s, invoice_id)
    attempt(s, invoice, first=False, outcome=outcome)
    return invoice


def _open_invoice(s: StandIn, invoice_id: str) -> dict[str, Any]:
    invoice = s.store.get(invoice_id, "invoice")
    if invoice["status"] != "open":
        raise StripeError(400, f"Invoice is already {invoice['status']}.", code="invoice_not_open")
    return invoice


def pay_invoice(s: StandIn, invoice_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """POST /v1/invoices/{id}/pay: out of band (recorded elsewhere) or with the default card."""
    invoice = _open_invoice(s, invoice_id)
    try:
        out_of_band = to_bool(params.get("paid_out_of_band", False), "paid_out_of_band")
    except FormError as exc:
        raise StripeError(400, str(exc), param="paid_out_of_band") from None
    if out_of_band:
        _mark_paid(invoice, amount_paid=0, out_of_band=True)
        s.emit("invoice.paid", invoice)
        _refresh_status(s, s.store.get(invoice["subscription"], "subscription"))
        return invoice
    if not attempt(s, invoice, first=False):
        raise StripeError(402, "Your card was declined.", type_="card_error", code="card_declined")
    return invoice


def pay_with_new_card(s: StandIn, invoice_id: str, card_number: str | None) -> bool:
    """The hosted invoice page: the customer enters a card, which also becomes the default."""
    invoice = _open_invoice(s, invoice_id)
    sub = s.store.get(invoice["subscription"], "subscription")
    pm = s.new_payment_method(s.card(card_number), sub["customer"])
    sub["default_payment_method"] = pm["id"]
    return attempt(s, invoice, first=True)


def update(s: StandIn, sub_id: str, params: dict[str, Any]) -> dict[str, Any]:
    sub = s.store.get(sub_id, "subscription")
    if sub["status"] == "canceled" and set(params) - {"metadata", "cancellation_details", "expand"}:
        raise StripeError(400, "A canceled subscription can only update its cancellation_details and metadata.")
    previous: dict[str, Any] = {}
    try:
        if "cancel_at_period_end" in params:
            previous["cancel_at_period_end"] = sub["cancel_at_period_end"]
            sub["cancel_at_period_end"] = to_bool(params["cancel_at_period_end"], "cancel_at_period_end")
            sub["cancel_at"] = sub["current_period_end"] if sub["cancel_at_period_end"] else None
        if "cancel_at" in params:
            previous["cancel_at"] = sub["cancel_at"]
            sub["cancel_at"] = to_int(params["cancel_at"], "cancel_at") if params["cancel_at"] != "" else None
            sub["cancel_at_period_end"] = False
        if "pause_collection" in params:
            previous["pause_collection"] = sub["pause_collection"]
            sub["pause_collection"] = _pause(params["pause_collection"])
    except FormError as exc:
        raise StripeError(400, str(exc)) from None
    if "metadata" in params:
        previous["metadata"] = dict(sub["metadata"])
        for key, value in (params["metadata"] or {}).items():
            if value == "":
                sub["metadata"].pop(key, None)
            else:
                sub["metadata"][key] = str(value)
    if previous:
        s.emit("customer.subscription.updated", sub, previous)
    return sub


def _pause(value: Any) -> dict[str, Any] | None:
    if value == "" or value is None:
        return None
    if not isinstance(value, dict) or value.get("behavior") not in {"void", "keep_as_draft", "mark_uncollectible"}:
        raise FormError("Invalid pause_collection[behavior].")
    resumes_at = to_int(value["resumes_at"], "pause_collection[resumes_at]") if value.get("resumes_at") else None
    return {"behavior": value["behavior"], "resumes_at": resumes_at}


def cancel(s: StandIn, sub_id: str) -> dict[str, Any]:
    sub = s.store.get(sub_id, "subscription")
    if sub["status"] == "canceled":
        raise StripeError(400, "This subscription is already canceled.", code="subscription_canceled")
    _end(s, sub, reason="cancellation_requested", at=now())
    return sub


def _end(s: StandIn, sub: dict[str, Any], *, reason: str, at: int) -> None:
    sub.update(
        {
            "status": "canceled",
            "canceled_at": now(),
            "ended_at": at,
            "cancel_at_period_end": sub["cancel_at_period_end"],
        }
    )
    sub["cancellation_details"]["reason"] = reason
    s.emit("customer.subscription.deleted", sub)
