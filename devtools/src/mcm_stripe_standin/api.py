"""Stripe's HTTP API surface, as far as the platform uses it: `/v1/...` with Bearer secret-key
auth, form-encoded parameters, `Idempotency-Key` replay and Stripe-shaped errors."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcm_stripe_standin import billing, checkout, objects, portal, refunds
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.forms import FormError, parse_body, to_int
from mcm_stripe_standin.state import Idempotent, StripeError, fingerprint, snapshot

Handler = Callable[[StandIn, dict[str, Any], dict[str, str]], dict[str, Any]]
_IDEMPOTENT_METHODS = {"POST", "DELETE"}


def _api_key(request: Request, s: StandIn) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    key = ""
    if scheme.lower() == "bearer":
        key = value.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(value).decode().partition(":")[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
    if not key:
        raise StripeError(
            401, "You did not provide an API key. Provide it in the Authorization header, using Bearer auth."
        )
    expected = s.config.secret_key
    if (expected and key != expected) or (not expected and not key.startswith("sk_")):
        raise StripeError(401, f"Invalid API Key provided: {key[:8]}****{key[-4:]}")
    return key


def _list(s: StandIn, kind: str, params: dict[str, Any], url: str, filters: tuple[str, ...]) -> dict[str, Any]:
    wanted = {name: params[name] for name in filters if params.get(name)}
    items = sorted(s.store.find(kind, **wanted), key=lambda obj: obj["created"], reverse=True)
    try:
        limit = max(1, min(100, to_int(params.get("limit", 10), "limit")))
    except FormError as exc:
        raise StripeError(400, str(exc), param="limit") from None
    page = objects.listing(url, [snapshot(obj) for obj in items[:limit]])
    page["has_more"] = len(items) > limit
    return page


def _session_lines(s: StandIn, params: dict[str, Any], ids: dict[str, str]) -> dict[str, Any]:
    s.store.get(ids["id"], "checkout.session")
    return objects.listing(f"/v1/checkout/sessions/{ids['id']}/line_items", snapshot(s.session_lines[ids["id"]]))


def _get(kind: str, label: str | None = None) -> Handler:
    return lambda s, params, ids: s.store.get(ids["id"], kind, label)


ROUTES: list[tuple[str, str, Handler]] = [
    ("POST", r"/v1/customers", lambda s, p, i: checkout.create_customer(s, p)),
    ("GET", r"/v1/customers/(?P<id>[^/]+)", _get("customer")),
    ("DELETE", r"/v1/customers/(?P<id>[^/]+)", lambda s, p, i: checkout.delete_customer(s, i["id"])),
    ("POST", r"/v1/prices", lambda s, p, i: checkout.create_price(s, p)),
    ("GET", r"/v1/prices/(?P<id>[^/]+)", _get("price")),
    ("GET", r"/v1/products/(?P<id>[^/]+)", _get("product")),
    ("POST", r"/v1/checkout/sessions", lambda s, p, i: checkout.create_session(s, p)),
    (
        "GET",
        r"/v1/checkout/sessions",
        lambda s, p, i: _list(
            s, "checkout.session", p, "/v1/checkout/sessions", ("customer", "subscription", "payment_intent", "status")
        ),
    ),
    ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)", _get("checkout.session")),
    ("GET", r"/v1/checkout/sessions/(?P<id>[^/]+)/line_items", _session_lines),
    ("POST", r"/v1/checkout/sessions/(?P<id>[^/]+)/expire", lambda s, p, i: checkout.expire_session(s, i["id"])),
    (
        "GET",
        r"/v1/subscriptions",
        lambda s, p, i: _list(s, "subscription", p, "/v1/subscriptions", ("customer", "status")),
    ),
    ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", _get("subscription")),
    ("POST", r"/v1/subscriptions/(?P<id>[^/]+)", lambda s, p, i: billing.update(s, i["id"], p)),
    ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", lambda s, p, i: billing.cancel(s, i["id"])),
    (
        "GET",
        r"/v1/invoices",
        lambda s, p, i: _list(s, "invoice", p, "/v1/invoices", ("customer", "subscription", "status")),
    ),
    ("GET", r"/v1/invoices/(?P<id>[^/]+)", _get("invoice")),
    ("POST", r"/v1/invoices/(?P<id>[^/]+)/pay", lambda s, p, i: billing.pay_invoice(s, i["id"], p)),
    ("GET", r"/v1/payment_intents/(?P<id>[^/]+)", _get("payment_intent")),
    ("GET", r"/v1/payment_methods/(?P<id>[^/]+)", _get("payment_method")),
    ("GET", r"/v1/charges/(?P<id>[^/]+)", _get("charge")),
    ("POST", r"/v1/refunds", lambda s, p, i: refunds.create(s, p)),
    ("GET", r"/v1/refunds", lambda s, p, i: _list(s, "refund", p, "/v1/refunds", ("charge", "payment_intent"))),
    ("GET", r"/v1/refunds/(?P<id>[^/]+)", _get("refund")),
    ("POST", r"/v1/billing_portal/sessions", lambda s, p, i: portal.create_session(s, p)),
    ("GET", r"/v1/events", lambda s, p, i: _list(s, "event", p, "/v1/events", ("type",))),
    ("GET", r"/v1/events/(?P<id>[^/]+)", _get("event")),
]
_COMPILED = [(method, re.compile(pattern + r"/?$"), handler) for method, pattern, handler in ROUTES]


def _render(s: StandIn, result: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    expand = params.get("expand") or []
    if isinstance(expand, str):
        expand = [expand]
    body = s.store.expand(result, [path for path in expand if path != "line_items"])
    if "line_items" in expand and body.get("object") == "checkout.session":
        body["line_items"] = objects.listing(
            f"/v1/checkout/sessions/{body['id']}/line_items", snapshot(s.session_lines[body["id"]])
        )
    return body


async def dispatch(request: Request) -> JSONResponse:
    s: StandIn = request.app.state.standin
    path, method = request.url.path, request.method
    try:
        key = _api_key(request, s)
        matched = [(m, rx.match(path), h) for m, rx, h in _COMPILED]
        candidates = [(m, match, h) for m, match, h in matched if match]
        if not candidates:
            raise StripeError(404, f"Unrecognized request URL ({method}: {path}).")
        route = next(((match, h) for m, match, h in candidates if m == method), None)
        if route is None:
            raise StripeError(405, f"Unrecognized request URL ({method}: {path}).")
        match, handler = route
        try:
            params = parse_body(await request.body(), request.url.query)
        except FormError as exc:
            raise StripeError(400, str(exc)) from None
        idem = request.headers.get("idempotency-key")
        if idem and method in _IDEMPOTENT_METHODS:
            return await _idempotent(
                s, (key, idem), method, path, params, lambda: handler(s, params, match.groupdict())
            )
        return JSONResponse(_render(s, handler(s, params, match.groupdict()), params))
    except StripeError as exc:
        return JSONResponse(exc.body, status_code=exc.status)


async def _idempotent(
    s: StandIn,
    cache_key: tuple[str, str],
    method: str,
    path: str,
    params: dict[str, Any],
    run: Callable[[], dict[str, Any]],
) -> JSONResponse:
    print_ = fingerprint(method, path, params)
    async with s.store.lock_for(cache_key):
        cached = s.store.idempotent.get(cache_key)
        if cached is not None:
            if cached.fingerprint != print_:
                raise StripeError(
                    400,
                    "Keys for idempotent requests can only be used with the same parameters they were first used with. "
                    f"Try using a key other than '{cache_key[1]}' if you meant to execute a different request.",
                    type_="idempotency_error",
                )
            return JSONResponse(
                cached.body,
                status_code=cached.status,
                headers={"Idempotent-Replayed": "true", "Idempotency-Key": cache_key[1]},
            )
        try:
            status, body = 200, _render(s, run(), params)
        except StripeError as exc:
            status, body = exc.status, exc.body
        s.store.idempotent[cache_key] = Idempotent(print_, status, body)
        return JSONResponse(body, status_code=status, headers={"Idempotency-Key": cache_key[1]})


def routes() -> list[Route]:
    return [Route("/v1/{rest:path}", dispatch, methods=["GET", "POST", "DELETE"])]
