"""Billing self-service: the member opens Stripe's billing portal (the stand-in's page here),
updates his card, pauses and resumes his dues, cancels them; the webhooks the portal sends bring
his dues obligation along, and what circles hears follows (obligation.paused / settled / cancelled)."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import httpx

PORTAL = "/api/v1/payments/portal"


async def subscription_of(harness, obligation_id: str) -> str:
    rows = await harness.sql(
        "SELECT stripe_subscription_id FROM payments.subscriptions WHERE obligation_id = $1", uuid.UUID(obligation_id)
    )
    return rows[0]["stripe_subscription_id"]


async def pay_dues(harness, user, *, card="4242424242424242"):
    obligation = await harness.dues(user)
    checkout = await harness.checkout(user, obligation["id"])
    assert checkout.status_code == 201, checkout.text
    assert (await harness.pay_hosted_page(checkout.json()["url"], card=card)).status_code == 303
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")
    return obligation


async def open_portal(harness, user) -> str:
    response = await harness.http.post(PORTAL, headers=harness.headers(user))
    assert response.status_code == 200, response.text
    url = response.json()["url"]
    assert url.startswith(harness.standin.url + "/p/session/bps_")
    return url


async def portal_action(url: str, action: str, **fields: str) -> httpx.Response:
    """Submit one of the portal page's forms, as a browser does (GET the page, POST the form)."""
    async with httpx.AsyncClient(timeout=30) as browser:
        page = await browser.get(url)
        assert page.status_code == 200, page.text
        assert f"value='{action}'" in page.text, page.text
        response = await browser.post(url, data={"action": action, **fields})
        assert response.status_code == 200, response.text
        return response


async def audit_actions(harness, obligation_id: str) -> list[str]:
    response = await harness.http.get(
        f"/api/v1/payments/obligations/{obligation_id}/audit", headers=harness.headers(None, "support")
    )
    assert response.status_code == 200, response.text
    return [entry["action"] for entry in response.json()["items"]]


async def test_a_member_without_a_stripe_customer_gets_a_409_and_a_service_token_a_403(harness):
    response = await harness.http.post(PORTAL, headers=harness.headers(uuid.uuid4()))
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/no-billing-account")
    assert "pay your dues first" in response.json()["detail"]
    assert (await harness.http.post(PORTAL)).status_code == 401


async def test_the_portal_is_opened_for_the_callers_own_customer_only(harness):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    alices = await pay_dues(harness, alice)
    bobs = await pay_dues(harness, bob)
    alice_sub, bob_sub = await subscription_of(harness, alices["id"]), await subscription_of(harness, bobs["id"])
    page = (await httpx.AsyncClient().get(await open_portal(harness, alice))).text
    assert alice_sub in page and bob_sub not in page
    # Support has no customer of his own and cannot name anybody else's: the route takes no user.
    support = await harness.http.post(PORTAL, headers=harness.headers(None, "support"), json={"user_id": str(alice)})
    assert support.status_code == 409


async def test_pause_and_resume_in_the_portal_pause_and_resume_the_dues(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user)
    sub = await subscription_of(harness, obligation["id"])
    url = await open_portal(harness, user)

    await portal_action(url, "pause", subscription=sub, months="2")
    await harness.settle_webhooks()
    paused = await harness.wait_status(obligation["id"], "paused")
    until = datetime.fromisoformat(paused["paused_until"])
    assert timedelta(days=55) < until - datetime.now(UTC) < timedelta(days=63)
    [event] = await harness.wait_published("obligation.paused", obligation_id=obligation["id"])
    assert event["reason"] == "paused by the member" and event["membership_id"] == obligation["membership_id"]
    stripe_sub = await harness.stripe_object(sub)
    assert stripe_sub["pause_collection"]["behavior"] == "void"
    # A renewal while paused is voided at Stripe: nothing charged, nothing owed.
    renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert renewal["invoice"]["status"] == "void"
    await harness.settle_webhooks()
    assert (await harness.obligation(obligation["id"]))["status"] == "paused"

    await portal_action(url, "resume", subscription=sub)
    await harness.settle_webhooks()
    resumed = await harness.wait_status(obligation["id"], "settled")
    assert resumed["paused_until"] is None and resumed["amount_due"]["amount"] == 0
    assert len(await harness.wait_published("obligation.settled", 2, obligation_id=obligation["id"])) == 2
    assert {"member_paused", "member_resumed"} <= set(await audit_actions(harness, obligation["id"]))


async def test_cancelling_in_the_portal_ends_the_dues_with_the_paid_month(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user)
    sub = await subscription_of(harness, obligation["id"])
    url = await open_portal(harness, user)

    page = await portal_action(url, "cancel", subscription=sub)
    assert "Keep subscription" in page.text
    await harness.settle_webhooks()
    # The paid month runs to its end: still settled, the cancellation noted.
    assert (await harness.obligation(obligation["id"]))["status"] == "settled"
    assert "member_cancelled_dues" in await audit_actions(harness, obligation["id"])
    assert (await harness.published("obligation.cancelled")) == []

    # Changing his mind before the end keeps the subscription; cancelling again ends it.
    await portal_action(url, "keep", subscription=sub)
    await harness.settle_webhooks()
    assert "member_kept_dues" in await audit_actions(harness, obligation["id"])
    await portal_action(url, "cancel", subscription=sub)
    await harness.settle_webhooks()

    end = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert end["invoice"] is None and end["subscription"]["status"] == "canceled"
    await harness.settle_webhooks()
    cancelled = await harness.wait_status(obligation["id"], "cancelled")
    assert cancelled["amount_due"]["amount"] == 0
    [row] = await harness.sql(
        "SELECT cancel_reason, attention FROM payments.obligations WHERE id = $1", uuid.UUID(obligation["id"])
    )
    assert row["cancel_reason"] == "member_cancelled" and row["attention"] is None  # not flagged as unexpected
    [event] = await harness.wait_published("obligation.cancelled", obligation_id=obligation["id"])
    assert event["reason"] == "member_cancelled" and event["membership_id"] == obligation["membership_id"]
    # Nothing more can be paid on it.
    assert (await harness.checkout(user, obligation["id"])).status_code == 409


async def test_a_new_card_in_the_portal_is_charged_from_the_next_attempt(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user, card="4000000000000341")  # fails on every renewal
    sub = await subscription_of(harness, obligation["id"])
    renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "overdue")

    await portal_action(await open_portal(harness, user), "update_card", card="4242424242424242")
    await harness.settle_webhooks()
    [attached] = await harness.events_of("payment_method.attached")
    [updated] = await harness.events_of("customer.updated")
    new_pm = attached["data"]["object"]["id"]
    assert updated["data"]["object"]["invoice_settings"]["default_payment_method"] == new_pm
    assert "invoice_settings" in updated["data"]["previous_attributes"]
    assert (await harness.stripe_object(sub))["default_payment_method"] == new_pm
    assert "card_updated" in await audit_actions(harness, obligation["id"])

    # Stripe's next retry charges the new card: the overdue month is paid.
    retried = await harness.stripe.post(f"/_standin/invoices/{renewal['invoice']['id']}/retry")
    assert retried.json()["status"] == "paid", retried.text
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")


async def test_a_staff_pause_coming_back_from_stripe_is_not_taken_for_the_members(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user)
    until = (datetime.now(UTC) + timedelta(days=20)).isoformat()
    paused = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/pause",
        json={"until": until, "reason": "travelling"},
        headers=harness.headers(None, "support"),
    )
    assert paused.status_code == 200, paused.text

    async def collection_paused() -> bool:
        sub = await harness.stripe_object(await subscription_of(harness, obligation["id"]))
        return bool(sub["pause_collection"])

    await harness.wait_for(collection_paused, what="Stripe collection paused")
    await harness.settle_webhooks()
    actions = await audit_actions(harness, obligation["id"])
    assert "pause" in actions and "member_paused" not in actions
    # The outbox relay puts messages on the stream after the commit: wait for the staff pause's.
    assert len(await harness.wait_published("obligation.paused")) == 1


async def test_the_portal_page_refuses_another_customers_subscription(harness):
    alice, bob = uuid.uuid4(), uuid.uuid4()
    await pay_dues(harness, alice)
    bobs = await pay_dues(harness, bob)
    bob_sub = await subscription_of(harness, bobs["id"])
    async with httpx.AsyncClient(timeout=30) as browser:
        response = await browser.post(
            await open_portal(harness, alice), data={"action": "cancel", "subscription": bob_sub}
        )
    assert response.status_code == 400 and re.search("No such subscription", response.text)
    assert (await harness.stripe_object(bob_sub))["cancel_at_period_end"] is False


async def test_the_standin_portal_session_endpoint_answers_as_stripe_does(harness):
    auth = {"Authorization": "Bearer sk_test_x"}
    missing = await harness.stripe.post("/v1/billing_portal/sessions", data={"customer": "cus_nobody"}, headers=auth)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "resource_missing"
    assert missing.json()["error"]["param"] == "customer"
    no_customer = await harness.stripe.post("/v1/billing_portal/sessions", data={}, headers=auth)
    assert no_customer.status_code == 400 and no_customer.json()["error"]["param"] == "customer"
    customer = (await harness.stripe.post("/v1/customers", headers=auth)).json()
    session = await harness.stripe.post(
        "/v1/billing_portal/sessions",
        data={"customer": customer["id"], "return_url": "https://app.example/p"},
        headers=auth,
    )
    body = session.json()
    assert body["object"] == "billing_portal.session" and body["customer"] == customer["id"]
    assert body["return_url"] == "https://app.example/p" and body["url"].endswith(f"/p/session/{body['id']}")
    [created] = await harness.events_of("billing_portal.session.created", body["id"])
    assert created["data"]["object"]["url"] == body["url"]
    page = await harness.stripe.get(f"/p/session/{body['id']}")
    assert "No active subscriptions" in page.text and "href='https://app.example/p'" in page.text
    assert (await harness.stripe.get("/p/session/bps_unknown")).status_code == 404


async def test_a_customer_stripe_forgot_gets_the_409_not_a_502(harness):
    user = uuid.uuid4()
    await pay_dues(harness, user)
    await harness.restart_standin()  # the stand-in forgets every customer, as after restarting make run
    response = await harness.http.post(PORTAL, headers=harness.headers(user))
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/no-billing-account")


async def test_the_portal_returns_to_the_configured_page(harness):
    user = uuid.uuid4()
    await pay_dues(harness, user)
    page = (await httpx.AsyncClient().get(await open_portal(harness, user))).text
    # The harness leaves PORTAL_RETURN_URL at its development default: the app's payments page.
    assert "href='http://127.0.0.1:8000/payments'" in page


async def test_an_instalment_plan_paused_in_the_portal_is_flagged_not_followed(harness):
    user = uuid.uuid4()
    plan = await harness.registration(user, amount=9000, instalments=3)
    checkout = await harness.checkout(user, plan["id"])
    assert (await harness.pay_hosted_page(checkout.json()["url"])).status_code == 303
    await harness.settle_webhooks()
    await harness.wait_status(plan["id"], "settled")
    sub = await subscription_of(harness, plan["id"])

    await portal_action(await open_portal(harness, user), "pause", subscription=sub, months="1")
    await harness.settle_webhooks()
    assert (await harness.obligation(plan["id"]))["status"] == "settled"
    [row] = await harness.sql("SELECT attention FROM payments.obligations WHERE id = $1", uuid.UUID(plan["id"]))
    assert "instalment plan was changed at Stripe (pause_collection" in row["attention"]
    assert "plan_changed_at_stripe" in await audit_actions(harness, plan["id"])
    assert await harness.published("obligation.paused") == []
