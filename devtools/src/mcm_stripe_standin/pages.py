"""The hosted pages a customer's browser sees: checkout (`session.url`), the invoice page
(`invoice.hosted_invoice_url`), receipts and the customer portal (a billing portal session's
`url`). Plain HTML forms, so a test drives them over HTTP.

Also the pages checkout returns to in development (not Stripe's: they stand in for the web app's),
`/_standin/checkout/success?session_id=…` and `/_standin/checkout/cancelled`, the default
`CHECKOUT_SUCCESS_URL` / `CHECKOUT_CANCEL_URL`."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from mcm_stripe_standin import billing, checkout, portal
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.objects import CARDS, DEFAULT_CARD
from mcm_stripe_standin.state import StripeError


def _money(amount: int, currency: str) -> str:
    return f"{amount / 100:.2f} {currency.upper()}"


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    html = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><meta name='viewport' content='width=device-width'></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
    return HTMLResponse(html, status_code=status)


def _card_choices() -> str:
    options = []
    for number, card in CARDS.items():
        checked = " checked" if number == DEFAULT_CARD else ""
        options.append(
            f"<label><input type='radio' name='card' value='{number}'{checked}> {escape(card.label)}</label><br>"
        )
    return "<fieldset><legend>Card</legend>" + "".join(options) + "</fieldset>"


async def _form(request: Request) -> dict[str, str]:
    fields = parse_qs((await request.body()).decode("utf-8", "replace"))
    return {key: values[-1] for key, values in fields.items()}


def _checkout_form(s: StandIn, session: dict[str, Any], notice: str = "") -> str:
    lines = "".join(
        f"<li>{escape(line['description'])} &times; {line['quantity']}: "
        f"{_money(line['amount_total'], line['currency'])}"
        f"{' per ' + escape(line['price']['recurring']['interval']) if line['price']['recurring'] else ''}</li>"
        for line in s.session_lines[session["id"]]
    )
    cancel = "<button name='action' value='cancel' type='submit'>Cancel</button>" if session.get("cancel_url") else ""
    return (
        f"{notice}<ul>{lines}</ul>"
        f"<p>Total today: <strong>{_money(session['amount_total'], session['currency'])}</strong></p>"
        f"<form method='post' action='/c/pay/{escape(session['id'])}'>{_card_choices()}"
        "<button name='action' value='pay' type='submit'>Pay</button> "
        f"<button name='action' value='decline' type='submit'>Decline</button> {cancel}</form>"
    )


async def checkout_page(request: Request) -> Response:
    s: StandIn = request.app.state.standin
    session = s.store.objects.get(request.path_params["session_id"])
    if not session or session.get("object") != "checkout.session":
        return _page("Checkout not found", "<p>This link is not valid.</p>", 404)
    if request.method == "GET":
        if session["status"] == "open":
            return _page("Checkout", _checkout_form(s, session))
        return _page(f"Checkout {session['status']}", f"<p>This checkout is {escape(session['status'])}.</p>", 410)
    form = await _form(request)
    action = form.get("action", "pay")
    if action == "cancel" and session.get("cancel_url"):
        return RedirectResponse(session["cancel_url"], status_code=303)
    card = form.get("card") if action == "pay" else "4000000000000002"
    try:
        paid, session = checkout.complete_session(s, session["id"], card)
    except StripeError as exc:
        return _page(
            "Checkout unavailable",
            f"<p>{escape(exc.body['error']['message'])}</p>",
            exc.status if exc.status != 402 else 400,
        )
    if paid:
        return RedirectResponse(session["success_url"].replace("{CHECKOUT_SESSION_ID}", session["id"]), status_code=303)
    notice = "<p role='alert'>Your card was declined.</p>"
    return _page("Checkout", _checkout_form(s, session, notice), 402)


async def invoice_page(request: Request) -> Response:
    s: StandIn = request.app.state.standin
    invoice = s.store.objects.get(request.path_params["invoice_id"])
    if not invoice or invoice.get("object") != "invoice":
        return _page("Invoice not found", "<p>This link is not valid.</p>", 404)
    summary = (
        f"<p>Invoice {escape(invoice['number'])}: {_money(invoice['amount_due'], invoice['currency'])}"
        f" — {escape(invoice['status'])}</p>"
    )
    form = (
        f"<form method='post' action='/i/{escape(invoice['id'])}'>{_card_choices()}"
        "<button name='action' value='pay' type='submit'>Pay</button></form>"
    )
    if request.method == "GET":
        return _page("Invoice", summary + (form if invoice["status"] == "open" else ""))
    fields = await _form(request)
    try:
        paid = billing.pay_with_new_card(s, invoice["id"], fields.get("card"))
    except StripeError as exc:
        return _page("Invoice", f"<p>{escape(exc.body['error']['message'])}</p>", 400)
    if paid:
        return _page("Invoice paid", f"<p>Thank you. {_money(invoice['amount_paid'], invoice['currency'])} paid.</p>")
    return _page("Invoice", "<p role='alert'>Your card was declined.</p>" + summary + form, 402)


async def receipt_page(request: Request) -> Response:
    s: StandIn = request.app.state.standin
    charge = s.store.objects.get(request.path_params["charge_id"])
    if not charge or charge.get("object") != "charge":
        return _page("Receipt not found", "<p>This link is not valid.</p>", 404)
    card = charge["payment_method_details"]["card"]
    refunded = (
        f"<p>Refunded: {_money(charge['amount_refunded'], charge['currency'])}</p>" if charge["amount_refunded"] else ""
    )
    return _page(
        "Receipt",
        f"<p>Paid {_money(charge['amount'], charge['currency'])} with {escape(card['brand'])}"
        f" •••• {escape(card['last4'])}.</p>{refunded}",
    )


def _subscription_panel(s: StandIn, sub: dict[str, Any], action: str) -> str:
    price = sub["items"]["data"][0]["price"] if sub["items"]["data"] else None
    amount = f"{_money(price['unit_amount'], price['currency'])} per month" if price else ""
    pm = s.store.objects.get(sub.get("default_payment_method") or "")
    card = f" · card •••• {escape(pm['card']['last4'])}" if pm else ""
    hidden = f"<input type='hidden' name='subscription' value='{escape(sub['id'])}'>"
    if sub["cancel_at_period_end"]:
        state = "Cancels at the end of the period"
        buttons = "<button name='action' value='keep' type='submit'>Keep subscription</button>"
    else:
        state = f"Renews ({escape(sub['status'])})"
        buttons = "<button name='action' value='cancel' type='submit'>Cancel subscription</button> "
        if sub["pause_collection"]:
            state += " — payments paused"
            buttons += "<button name='action' value='resume' type='submit'>Resume payments</button>"
        else:
            months = "".join(
                f"<option value='{n}'>{n} month{'s' if n > 1 else ''}</option>" for n in portal.PAUSE_MONTHS
            )
            buttons += (
                f"<label>Pause for <select name='months'>{months}</select></label> "
                "<button name='action' value='pause' type='submit'>Pause payments</button>"
            )
    return (
        f"<section><h2>Subscription {escape(sub['id'])}</h2><p>{amount}{card} — {state}</p>"
        f"<form method='post' action='{action}'>{hidden}{buttons}</form></section>"
    )


def _portal_body(s: StandIn, session: dict[str, Any], notice: str = "") -> str:
    action = f"/p/session/{escape(session['id'])}"
    subs = portal.subscriptions(s, session["customer"])
    panels = "".join(_subscription_panel(s, sub, action) for sub in subs) or "<p>No active subscriptions.</p>"
    card_form = (
        f"<section><h2>Payment method</h2><form method='post' action='{action}'>{_card_choices()}"
        "<button name='action' value='update_card' type='submit'>Update card</button></form></section>"
    )
    back = f"<p><a href='{escape(session['return_url'])}'>Return</a></p>" if session.get("return_url") else ""
    return notice + panels + card_form + back


async def portal_page(request: Request) -> Response:
    s: StandIn = request.app.state.standin
    session = s.store.objects.get(request.path_params["session_id"])
    if not session or session.get("object") != "billing_portal.session":
        return _page("Portal session not found", "<p>This link is not valid.</p>", 404)
    if request.method == "GET":
        return _page("Billing", _portal_body(s, session))
    form = await _form(request)
    action, sub_id = form.get("action", ""), form.get("subscription", "")
    try:
        if action == "update_card":
            portal.update_card(s, session, form.get("card"))
            done = "Your card was updated."
        elif action == "cancel":
            portal.cancel(s, session, sub_id)
            done = "Your subscription will end at the end of the period."
        elif action == "keep":
            portal.keep(s, session, sub_id)
            done = "Your subscription will continue."
        elif action == "pause":
            portal.pause(s, session, sub_id, int(form.get("months", "1") or "1"))
            done = "Payments are paused."
        elif action == "resume":
            portal.resume(s, session, sub_id)
            done = "Payments resumed."
        else:
            return _page("Billing", "<p role='alert'>Unknown action.</p>" + _portal_body(s, session), 400)
    except (StripeError, ValueError) as exc:
        message = exc.body["error"]["message"] if isinstance(exc, StripeError) else "Invalid value."
        return _page("Billing", f"<p role='alert'>{escape(message)}</p>" + _portal_body(s, session), 400)
    return _page("Billing", _portal_body(s, session, f"<p role='status'>{escape(done)}</p>"))


async def return_success_page(request: Request) -> Response:
    s: StandIn = request.app.state.standin
    session = s.store.objects.get(request.query_params.get("session_id", ""))
    paid = ""
    if session and session.get("object") == "checkout.session" and session["status"] == "complete":
        paid = f"<p>{_money(session['amount_total'], session['currency'])} paid (checkout {escape(session['id'])}).</p>"
    return _page("Payment received", f"<p>Payment received — you can close this page.</p>{paid}")


async def return_cancelled_page(request: Request) -> Response:
    return _page("Payment cancelled", "<p>Payment cancelled — nothing was charged. You can close this page.</p>")


def routes() -> list[Route]:
    return [
        Route("/c/pay/{session_id}", checkout_page, methods=["GET", "POST"]),
        Route("/i/{invoice_id}", invoice_page, methods=["GET", "POST"]),
        Route("/receipts/{charge_id}", receipt_page, methods=["GET"]),
        Route("/p/session/{session_id}", portal_page, methods=["GET", "POST"]),
        Route("/_standin/checkout/success", return_success_page, methods=["GET"]),
        Route("/_standin/checkout/cancelled", return_cancelled_page, methods=["GET"]),
    ]
