"""Monthly dues end to end: the event from circles, checkout, paying on the stand-in's hosted
page, Stripe's webhooks, events out; renewals, a failed renewal, support's offline payment,
and the membership ending."""

from __future__ import annotations

import uuid


async def subscription_of(harness, obligation_id: str) -> str:
    rows = await harness.sql(
        "SELECT stripe_subscription_id FROM payments.subscriptions WHERE obligation_id = $1", uuid.UUID(obligation_id)
    )
    return rows[0]["stripe_subscription_id"]


async def pay_dues(harness, user, *, card="4242424242424242", amount=2500):
    obligation = await harness.dues(user, amount=amount)
    checkout = await harness.checkout(user, obligation["id"])
    assert checkout.status_code == 201, checkout.text
    assert checkout.json()["mode"] == "subscription"
    redirect = await harness.pay_hosted_page(checkout.json()["url"], card=card)
    assert redirect.status_code == 303 and redirect.headers["location"].startswith(
        "http://127.0.0.1:9/done?session=cs_"
    )
    await harness.settle_webhooks()
    return obligation


async def test_dues_from_membership_event_to_settled_event(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user, amount=2500)
    assert obligation["status"] == "pending" and obligation["amount_due"] == {"amount": 2500, "currency": "EUR"}
    assert obligation["interval"] == "month"

    checkout = (await harness.checkout(user, obligation["id"])).json()
    redirect = await harness.pay_hosted_page(checkout["url"])
    assert redirect.status_code == 303
    await harness.settle_webhooks()

    settled = await harness.wait_status(obligation["id"], "settled")
    assert settled["amount_paid"] == {"amount": 2500, "currency": "EUR"} and settled["amount_due"]["amount"] == 0
    [event] = await harness.wait_published("obligation.settled", obligation_id=obligation["id"])
    assert event["kind"] == "membership" and event["membership_id"] == obligation["membership_id"]
    assert event["user_id"] == str(user) and event["amount_paid"] == 2500 and event["currency"] == "EUR"

    history = (await harness.http.get("/api/v1/payments/history", headers=harness.headers(user))).json()
    assert [p["amount"]["amount"] for p in history["items"]] == [2500]
    assert history["items"][0]["receipt"]["url"].startswith(harness.standin.url + "/i/in_")
    assert [s["status"] for s in history["subscriptions"]] == ["active"]


async def test_a_successful_renewal_keeps_dues_settled_and_adds_a_payment(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user)
    sub = await subscription_of(harness, obligation["id"])
    renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert renewal["invoice"]["status"] == "paid"
    await harness.settle_webhooks()
    current = await harness.obligation(obligation["id"], user)
    assert (
        current["status"] == "settled" and current["amount_paid"]["amount"] == 5000 and current["instalments_paid"] == 2
    )
    assert len(await harness.published("obligation.settled")) == 1  # a transition is published once, not every month


async def test_failed_renewal_goes_overdue_then_an_offline_payment_settles_it(harness):
    user = uuid.uuid4()
    support = uuid.uuid4()
    obligation = await pay_dues(harness, user, card="4000000000000341")
    sub = await subscription_of(harness, obligation["id"])

    renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert renewal["invoice"]["status"] == "open"
    await harness.settle_webhooks()
    overdue = await harness.wait_status(obligation["id"], "overdue")
    assert overdue["amount_due"] == {"amount": 2500, "currency": "EUR"} and overdue["overdue_since"]
    [event] = await harness.wait_published("obligation.overdue", obligation_id=obligation["id"])
    assert event["amount_due"] == 2500 and event["membership_id"] == obligation["membership_id"]

    queue = (
        await harness.http.get("/api/v1/payments/interventions", headers=harness.headers(support, "support"))
    ).json()
    assert [item["obligation"]["id"] for item in queue["items"]] == [obligation["id"]]

    # The member is sent to the failed invoice, not to a second subscription.
    again = (await harness.checkout(user, obligation["id"])).json()
    assert again["mode"] == "invoice" and again["url"] == renewal["invoice"]["hosted_invoice_url"]

    response = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/offline-payment",
        json={"amount": 2500, "method": "cash", "note": "Paid at the circle meeting"},
        headers=harness.headers(support, "support", **{"Idempotency-Key": "cash-1"}),
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["obligation"]["status"] == "settled" and body["payment"]["method"] == "cash"
    settled_events = await harness.wait_published("obligation.settled", count=2, obligation_id=obligation["id"])
    assert settled_events[-1]["method"] == "offline"

    # Stripe is told the invoice was paid out of band, so it stops retrying it.
    async def invoice_paid_at_stripe():
        invoice = await harness.stripe_object(renewal["invoice"]["id"])
        return invoice["status"] == "paid" and invoice["paid_out_of_band"]

    await harness.wait_for(invoice_paid_at_stripe, what="the invoice to be paid out of band at Stripe")
    await harness.settle_webhooks()
    assert (await harness.stripe_object(sub))["status"] == "active"
    current = await harness.obligation(obligation["id"], user)
    assert current["status"] == "settled" and current["amount_paid"]["amount"] == 5000
    queue = (
        await harness.http.get("/api/v1/payments/interventions", headers=harness.headers(support, "support"))
    ).json()
    assert queue["items"] == []

    audit = (
        await harness.http.get(
            f"/api/v1/payments/obligations/{obligation['id']}/audit", headers=harness.headers(support, "support")
        )
    ).json()
    actions = [(e["action"], e["actor"], e["status_before"], e["status_after"]) for e in audit["items"]]
    assert ("payment_failed", "stripe", "settled", "overdue") in actions
    assert ("offline_payment", f"user:{support}", "overdue", "settled") in actions
    entry = next(e for e in audit["items"] if e["action"] == "offline_payment")
    assert (
        entry["reason"] == "Paid at the circle meeting" and entry["actor_roles"] == ["support"] and entry["created_at"]
    )


async def test_paying_the_failed_invoice_online_settles_the_overdue_dues(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user, card="4000000000000341")
    sub = await subscription_of(harness, obligation["id"])
    await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "overdue")
    target = (await harness.checkout(user, obligation["id"])).json()
    assert (await harness.pay_hosted_page(target["url"])).status_code == 200
    await harness.settle_webhooks()
    current = await harness.wait_status(obligation["id"], "settled")
    assert current["amount_paid"]["amount"] == 5000


async def test_membership_ended_cancels_the_subscription_at_period_end(harness):
    user = uuid.uuid4()
    obligation = await pay_dues(harness, user)
    sub = await subscription_of(harness, obligation["id"])
    await harness.from_circles(
        "membership.ended",
        {
            "membership_id": obligation["membership_id"],
            "circle_id": obligation["circle_id"],
            "user_id": user,
            "reason": "left",
        },
    )
    await harness.wait_status(obligation["id"], "cancelled")

    async def set_to_end():
        return (await harness.stripe_object(sub))["cancel_at_period_end"]

    await harness.wait_for(set_to_end, what="cancel_at_period_end at Stripe")
    renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert renewal["invoice"] is None and renewal["subscription"]["status"] == "canceled"
    await harness.settle_webhooks()
    [mirror] = await harness.sql("SELECT status FROM payments.subscriptions")
    assert mirror["status"] == "canceled"
    current = await harness.obligation(obligation["id"], user)
    assert current["status"] == "cancelled" and current["amount_paid"]["amount"] == 2500
    [row] = await harness.sql("SELECT attention FROM payments.obligations")
    assert row["attention"] is None
    checkout = await harness.checkout(user, obligation["id"])
    assert checkout.status_code == 409
