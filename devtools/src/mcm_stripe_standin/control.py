"""Control endpoints for tests and `make run` (not part of Stripe's API): bill the next period,
retry or settle things, inspect and resend events, change where webhooks go."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcm_stripe_standin import billing, checkout, refunds
from mcm_stripe_standin.core import StandIn
from mcm_stripe_standin.state import StripeError


async def _json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise StripeError(400, "Control endpoints take a JSON body.") from None
    if not isinstance(body, dict):
        raise StripeError(400, "Control endpoints take a JSON object.")
    return body


def _outcome(body: dict[str, Any]) -> str | None:
    outcome = body.get("outcome")
    if outcome not in (None, "succeed", "fail"):
        raise StripeError(400, "outcome must be succeed or fail (or absent: the card decides).")
    return outcome


def _endpoint(
    action: Callable[[StandIn, Request, dict[str, Any]], Awaitable[dict[str, Any]]],
) -> Callable[[Request], Awaitable[JSONResponse]]:
    async def endpoint(request: Request) -> JSONResponse:
        s: StandIn = request.app.state.standin
        try:
            return JSONResponse(await action(s, request, await _json(request)))
        except StripeError as exc:
            return JSONResponse(exc.body, status_code=exc.status)

    return endpoint


async def _renew(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return billing.renew(s, request.path_params["id"], _outcome(body))


async def _retry(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return billing.retry(s, request.path_params["id"], _outcome(body))


async def _pay_session(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    paid, session = checkout.complete_session(s, request.path_params["id"], body.get("card"))
    return {"paid": paid, "session": session}


async def _settle_refund(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return refunds.settle(s, request.path_params["id"], succeed=request.path_params["outcome"] == "succeed")


async def _events(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    wanted = request.query_params.get("type")
    items = [
        {
            "id": event["id"],
            "type": event["type"],
            "created": event["created"],
            "object_id": event["data"]["object"].get("id"),
            "delivery": s.sender.deliveries[event["id"]].as_dict(),
        }
        for event in s.sender.events.values()
        if not wanted or event["type"] == wanted
    ]
    return {"object": "list", "data": items}


async def _event(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return s.store.get(request.path_params["id"], "event")


async def _resend(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    s.store.get(request.path_params["id"], "event")
    s.sender.resend(request.path_params["id"])
    return {"queued": True}


async def _flush(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"idle": await s.sender.flush(float(body.get("timeout", 10)))}


async def _config(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    if request.method == "PUT":
        for name in ("webhook_url", "webhook_secret", "refund_settle_seconds"):
            if name in body:
                setattr(s.config, name, body[name])
    return {
        "webhook_url": s.config.webhook_url,
        "refund_settle_seconds": s.config.refund_settle_seconds,
        "base_url": s.base_url,
    }


async def _health(s: StandIn, request: Request, body: dict[str, Any]) -> dict[str, Any]:
    return {"status": "ok"}


def routes() -> list[Route]:
    return [
        Route("/_standin/health", _endpoint(_health), methods=["GET"]),
        Route("/_standin/config", _endpoint(_config), methods=["GET", "PUT"]),
        Route("/_standin/events", _endpoint(_events), methods=["GET"]),
        Route("/_standin/events/{id}", _endpoint(_event), methods=["GET"]),
        Route("/_standin/events/{id}/resend", _endpoint(_resend), methods=["POST"]),
        Route("/_standin/webhooks/flush", _endpoint(_flush), methods=["POST"]),
        Route("/_standin/checkout/sessions/{id}/pay", _endpoint(_pay_session), methods=["POST"]),
        Route("/_standin/subscriptions/{id}/renew", _endpoint(_renew), methods=["POST"]),
        Route("/_standin/invoices/{id}/retry", _endpoint(_retry), methods=["POST"]),
        Route("/_standin/refunds/{id}/{outcome:str}", _endpoint(_settle_refund), methods=["POST"]),
    ]
