"""The Stripe stand-in on its own: Stripe's wire format, idempotency, hosted pages, billing
cycles, refunds, and webhooks signed exactly as Stripe signs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time

import httpx
import pytest
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from mcm_devstack.engines import free_port
from mcm_payments.config import DEV_STRIPE_API_BASE, Settings
from mcm_stripe_standin import StandInConfig, create_standin_app
from mcm_stripe_standin.forms import parse_body

SECRET = "whsec_standin_test"
KEY = "sk_test_standin"


class Receiver:
    def __init__(self) -> None:
        self.requests: list[tuple[bytes, dict[str, str]]] = []
        self.fail_first = 0

        async def receive(request: Request) -> JSONResponse:
            self.requests.append((await request.body(), dict(request.headers)))
            if self.fail_first > 0:
                self.fail_first -= 1
                return JSONResponse({"error": "not now"}, status_code=500)
            return JSONResponse({"ok": True})

        self.app = Starlette(routes=[Route("/hook", receive, methods=["POST"])])

    def events(self) -> list[dict]:
        return [json.loads(body) for body, _ in self.requests]


@pytest.fixture
async def standin(serve):
    receiver = Receiver()
    hook = await serve(receiver.app)
    config = StandInConfig(
        port=0, secret_key=KEY, webhook_secret=SECRET, webhook_url=hook.url + "/hook", refund_settle_seconds=None
    )
    served = await serve(create_standin_app(config))
    config.port = served.port  # before any request: hosted page URLs use it
    http = stripe.HTTPXClient()
    client = stripe.StripeClient(KEY, base_addresses={"api": served.url}, http_client=http, max_network_retries=0)
    yield served, client, receiver
    await http.close_async()


async def flush(served) -> None:
    async with httpx.AsyncClient(base_url=served.url) as control:
        assert (await control.post("/_standin/webhooks/flush")).json()["idle"]


def test_form_encoding_follows_stripe_brackets():
    body = (
        b"metadata[user_id]=u1&line_items[0][price_data][unit_amount]=100&line_items[1][quantity]=2"
        b"&expand[0]=a&expand[1]=b&pause_collection="
    )
    assert parse_body(body) == {
        "metadata": {"user_id": "u1"},
        "line_items": [{"price_data": {"unit_amount": "100"}}, {"quantity": "2"}],
        "expand": ["a", "b"],
        "pause_collection": "",
    }


async def test_requests_need_the_secret_key(standin):
    served, _, _ = standin
    async with httpx.AsyncClient(base_url=served.url) as client:
        assert (await client.post("/v1/customers")).status_code == 401
        wrong = await client.post("/v1/customers", headers={"Authorization": "Bearer sk_test_other"})
        assert wrong.status_code == 401 and wrong.json()["error"]["type"] == "invalid_request_error"
        assert (await client.get("/v1/customers/cus_nope", headers={"Authorization": f"Bearer {KEY}"})).json()["error"][
            "code"
        ] == "resource_missing"


async def test_idempotency_key_replays_and_refuses_other_parameters(standin):
    _, client, _ = standin
    first = await client.v1.customers.create_async(
        params={"metadata": {"user_id": "u1"}}, options={"idempotency_key": "customer:u1"}
    )
    again = await client.v1.customers.create_async(
        params={"metadata": {"user_id": "u1"}}, options={"idempotency_key": "customer:u1"}
    )
    assert (
        first.id == again.id
        and first.id.startswith("cus_")
        and first.object == "customer"
        and isinstance(first.created, int)
    )
    with pytest.raises(stripe.IdempotencyError):
        await client.v1.customers.create_async(
            params={"metadata": {"user_id": "u2"}}, options={"idempotency_key": "customer:u1"}
        )


async def test_checkout_subscription_pays_on_the_hosted_page_then_renews_and_fails_with_the_renewal_card(standin):
    served, client, receiver = standin
    customer = await client.v1.customers.create_async(params={})
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "success_url": "http://app/ok?s={CHECKOUT_SESSION_ID}",
            "cancel_url": "http://app/no",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 2500,
                        "recurring": {"interval": "month"},
                        "product_data": {"name": "Dues"},
                    }
                }
            ],
            "subscription_data": {"metadata": {"obligation_id": "o1"}},
            "metadata": {"obligation_id": "o1"},
            "client_reference_id": "o1",
        }
    )
    assert session.status == "open" and session.url.startswith(served.url)
    async with httpx.AsyncClient() as browser:
        page = await browser.get(session.url)
        assert "Pay" in page.text and "Decline" in page.text and "4000000000000341" in page.text
        done = await browser.post(session.url, data={"action": "pay", "card": "4000000000000341"})
    assert done.status_code == 303 and done.headers["location"] == f"http://app/ok?s={session.id}"
    completed = await client.v1.checkout.sessions.retrieve_async(session.id, params={"expand": ["subscription"]})
    assert completed.status == "complete" and completed.subscription.status == "active"
    assert completed.subscription.metadata["obligation_id"] == "o1"
    async with httpx.AsyncClient(base_url=served.url) as control:
        renewal = (await control.post(f"/_standin/subscriptions/{completed.subscription.id}/renew")).json()
    assert renewal["invoice"]["status"] == "open" and renewal["subscription"]["status"] == "past_due"
    await flush(served)
    types = [event["type"] for event in receiver.events()]
    assert (
        types.index("customer.subscription.created")
        < types.index("invoice.paid")
        < types.index("checkout.session.completed")
    )
    assert types[-3:] == ["charge.failed", "invoice.payment_failed", "customer.subscription.updated"]


async def test_declined_card_keeps_the_session_open(standin):
    served, client, receiver = standin
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "payment",
            "success_url": "http://app/ok",
            "line_items": [
                {"price_data": {"currency": "eur", "unit_amount": 9000, "product_data": {"name": "Retreat"}}}
            ],
            "payment_intent_data": {"metadata": {"obligation_id": "o2"}},
        }
    )
    async with httpx.AsyncClient() as browser:
        declined = await browser.post(session.url, data={"action": "decline"})
    assert declined.status_code == 402 and "declined" in declined.text
    assert (await client.v1.checkout.sessions.retrieve_async(session.id)).status == "open"
    await flush(served)
    failed = [e for e in receiver.events() if e["type"] == "payment_intent.payment_failed"]
    assert failed and failed[0]["data"]["object"]["metadata"] == {"obligation_id": "o2"}


async def test_a_deleted_customer_is_gone_as_at_stripe(standin):
    served, client, receiver = standin
    customer = await client.v1.customers.create_async(params={"metadata": {"user_id": "u1"}})
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "customer": customer.id,
            "success_url": "http://app/ok",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 2500,
                        "recurring": {"interval": "month"},
                        "product_data": {"name": "Dues"},
                    }
                }
            ],
        }
    )
    async with httpx.AsyncClient() as browser:
        await browser.post(session.url, data={"action": "pay", "card": "4242424242424242"})
    subscription = (await client.v1.checkout.sessions.retrieve_async(session.id)).subscription
    deleted = await client.v1.customers.delete_async(customer.id)
    assert deleted.id == customer.id and deleted.deleted is True
    assert (await client.v1.customers.retrieve_async(customer.id)).deleted is True
    # Its subscriptions end at once, and naming it in a new request is resource_missing on `customer`.
    assert (await client.v1.subscriptions.retrieve_async(subscription)).status == "canceled"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        await client.v1.checkout.sessions.create_async(
            params={
                "mode": "payment",
                "customer": customer.id,
                "success_url": "http://app/ok",
                "line_items": [
                    {"price_data": {"currency": "eur", "unit_amount": 900, "product_data": {"name": "Fee"}}}
                ],
            }
        )
    assert (
        refused.value.http_status == 404
        and refused.value.code == "resource_missing"
        and refused.value.param == "customer"
    )
    assert f"No such customer: '{customer.id}'" in refused.value.user_message
    await flush(served)
    assert "customer.subscription.deleted" in [event["type"] for event in receiver.events()]


async def test_development_return_urls_are_pages_of_the_standin(standin):
    """Checkout's development defaults return to the stand-in, which serves both pages (the web
    app has none: they used to point at a 404)."""
    served, client, _receiver = standin
    assert (
        Settings().checkout_success_url
        == DEV_STRIPE_API_BASE + "/_standin/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    )
    assert Settings().checkout_cancel_url == DEV_STRIPE_API_BASE + "/_standin/checkout/cancelled"
    # Left at their defaults, they follow STRIPE_API_BASE (a stand-in on another port).
    settings = Settings(stripe_api_base=served.url)
    assert settings.checkout_success_url == served.url + "/_standin/checkout/success?session_id={CHECKOUT_SESSION_ID}"
    assert settings.checkout_cancel_url == served.url + "/_standin/checkout/cancelled"
    assert Settings(stripe_api_base="https://api.stripe.com").checkout_success_url.startswith(DEV_STRIPE_API_BASE)
    params = {
        "mode": "payment",
        "success_url": settings.checkout_success_url,
        "cancel_url": settings.checkout_cancel_url,
        "line_items": [{"price_data": {"currency": "eur", "unit_amount": 4500, "product_data": {"name": "Retreat"}}}],
    }
    paid = await client.v1.checkout.sessions.create_async(params=params)
    abandoned = await client.v1.checkout.sessions.create_async(params=params)
    async with httpx.AsyncClient(follow_redirects=True) as browser:
        done = await browser.post(paid.url, data={"action": "pay", "card": "4242424242424242"})
        cancelled = await browser.post(abandoned.url, data={"action": "cancel"})
        unknown = await browser.get(served.url + "/_standin/checkout/success?session_id=cs_test_forgotten")
    assert done.status_code == 200 and str(done.url) == f"{served.url}/_standin/checkout/success?session_id={paid.id}"
    assert done.headers["content-type"].startswith("text/html")
    assert "Payment received — you can close this page" in done.text and "45.00 EUR" in done.text
    assert cancelled.status_code == 200 and "Payment cancelled" in cancelled.text
    # The session may be gone (a restarted stand-in): the page still says the same.
    assert unknown.status_code == 200 and "Payment received" in unknown.text and "cs_test_forgotten" not in unknown.text


async def test_webhooks_are_signed_like_stripe_and_retried_until_accepted(standin):
    served, client, receiver = standin
    receiver.fail_first = 1
    await client.v1.customers.create_async(params={})
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "payment",
            "success_url": "http://app/ok",
            "line_items": [
                {"price_data": {"currency": "eur", "unit_amount": 500, "product_data": {"name": "Film night"}}}
            ],
        }
    )
    async with httpx.AsyncClient(base_url=served.url) as control:
        assert (await control.post(f"/_standin/checkout/sessions/{session.id}/pay", json={})).json()["paid"] is True
    first_id = None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        ids = [json.loads(body)["id"] for body, _ in receiver.requests]
        first_id = ids[0] if ids else None
        if first_id and ids.count(first_id) >= 2:
            break
        await asyncio.sleep(0.05)
    body, headers = receiver.requests[0]
    assert headers["stripe-signature"].startswith("t=") and ",v1=" in headers["stripe-signature"]
    event = stripe.Webhook.construct_event(body, headers["stripe-signature"], SECRET, tolerance=300)
    assert (
        event.id.startswith("evt_")
        and event.type == "payment_intent.succeeded"
        and event.data.object.object == "payment_intent"
    )
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(body, headers["stripe-signature"], "whsec_other", tolerance=300)
    # The first delivery was answered 500; the same event came again and was accepted.
    assert [json.loads(b)["id"] for b, _ in receiver.requests].count(first_id) == 2
    async with httpx.AsyncClient(base_url=served.url) as control:
        deliveries = {e["id"]: e["delivery"] for e in (await control.get("/_standin/events")).json()["data"]}
    assert deliveries[first_id] == {"attempts": 2, "delivered": True, "last_status": 200, "last_error": None}


async def test_refunds_never_exceed_the_charge_and_settle_when_told(standin):
    served, client, receiver = standin
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "payment",
            "success_url": "http://app/ok",
            "line_items": [
                {"price_data": {"currency": "eur", "unit_amount": 1000, "product_data": {"name": "Workshop"}}}
            ],
        }
    )
    async with httpx.AsyncClient(base_url=served.url) as control:
        paid = (await control.post(f"/_standin/checkout/sessions/{session.id}/pay", json={})).json()["session"]
        refund = await client.v1.refunds.create_async(params={"payment_intent": paid["payment_intent"], "amount": 600})
        assert refund.status == "pending"
        with pytest.raises(stripe.InvalidRequestError) as too_much:
            await client.v1.refunds.create_async(params={"payment_intent": paid["payment_intent"], "amount": 600})
        assert too_much.value.code == "amount_too_large"
        await control.post(f"/_standin/refunds/{refund.id}/succeed")
    assert (await client.v1.refunds.retrieve_async(refund.id)).status == "succeeded"
    await flush(served)
    refunded = [e for e in receiver.events() if e["type"] == "charge.refunded"]
    assert refunded[-1]["data"]["object"]["amount_refunded"] == 600


async def test_cancel_at_period_end_ends_the_subscription_at_the_next_renewal(standin):
    served, client, _ = standin
    session = await client.v1.checkout.sessions.create_async(
        params={
            "mode": "subscription",
            "success_url": "http://app/ok",
            "line_items": [
                {
                    "price_data": {
                        "currency": "eur",
                        "unit_amount": 700,
                        "recurring": {"interval": "month"},
                        "product_data": {"name": "Dues"},
                    }
                }
            ],
        }
    )
    async with httpx.AsyncClient(base_url=served.url) as control:
        sub_id = (await control.post(f"/_standin/checkout/sessions/{session.id}/pay", json={})).json()["session"][
            "subscription"
        ]
        updated = await client.v1.subscriptions.update_async(sub_id, params={"cancel_at_period_end": True})
        assert updated.cancel_at_period_end is True
        renewal = (await control.post(f"/_standin/subscriptions/{sub_id}/renew")).json()
    assert renewal["invoice"] is None and renewal["subscription"]["status"] == "canceled"
    invoices = await client.v1.invoices.list_async(params={"subscription": sub_id})
    assert len(invoices.data) == 1


async def test_runs_as_a_program_on_the_configured_port(tmp_path):
    port = free_port()
    env = {**os.environ, "STRIPE_STANDIN_PORT": str(port), "STRIPE_STANDIN_WEBHOOK_URL": ""}
    # Popen returns at once; the child runs for the whole test.
    process = subprocess.Popen(  # noqa: ASYNC220
        [sys.executable, "-m", "mcm_stripe_standin"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        async with httpx.AsyncClient() as client:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = await client.get(f"http://127.0.0.1:{port}/_standin/health")
                    break
                except httpx.HTTPError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    await asyncio.sleep(0.1)
        assert response.json() == {"status": "ok"}
    finally:
        process.terminate()
        process.wait(10)
