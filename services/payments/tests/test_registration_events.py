"""circles' `registration.expired` and `registration.cancelled`: unpaid obligations are cancelled and
their checkouts expired, cancelled registrations are refunded in full (or not at all), repeats
refund nothing more, and money racing an expiry is refunded exactly once."""

from __future__ import annotations

import uuid

import httpx

from mcm_shared.events import Envelope

STRIPE_AUTH = {"Authorization": "Bearer sk_test_x"}


def staff(harness, **extra):
    return harness.headers(uuid.uuid4(), "support", **extra)


async def applied(harness, envelope: Envelope) -> None:
    """The consumer committed this event (its inbox row exists)."""

    async def probe():
        return await harness.sql("SELECT 1 FROM payments.inbox WHERE event_id = $1", envelope.id)

    await harness.wait_for(probe, what=f"{envelope.type} {envelope.id} to be applied")


async def redeliver(harness, envelope: Envelope) -> None:
    """The same envelope again (at-least-once delivery), then wait until the consumer is past it:
    entries are read in order, so a marker event applied after it means it was handled."""
    await harness.redis.xadd(harness.streams.consume[0], envelope.to_fields())
    marker = await harness.from_circles(
        "registration.expired", {"registration_id": uuid.uuid4(), "event_id": uuid.uuid4(), "user_id": uuid.uuid4()}
    )
    await applied(harness, marker)


def cancelled(obligation, refund: str, reason: str = "by_participant", amount: int | None = None) -> dict:
    return {
        "registration_id": obligation["registration_id"],
        "event_id": obligation["event_id"],
        "user_id": obligation["user_id"],
        "refund": refund,
        "reason": reason,
        "amount": amount or obligation["amount"]["amount"],
        "currency": "EUR",
    }


def expired(obligation) -> dict:
    return {
        "registration_id": obligation["registration_id"],
        "event_id": obligation["event_id"],
        "user_id": obligation["user_id"],
    }


async def pay_once(harness, user, obligation):
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    return await harness.wait_status(obligation["id"], "settled")


async def refunds_of(harness, obligation_id: str):
    return await harness.sql(
        "SELECT r.amount, r.origin, r.status, r.payment_id FROM payments.refunds r"
        " WHERE r.obligation_id = $1 ORDER BY r.created_at",
        uuid.UUID(obligation_id),
    )


async def all_refunds_succeeded(harness, obligation_id: str, count: int):
    async def probe():
        rows = await refunds_of(harness, obligation_id)
        return len(rows) == count and all(r["status"] == "succeeded" for r in rows) and rows

    return await harness.wait_for(probe, what=f"{count} refund(s) to succeed")


async def stripe_refunded(harness, obligation_id: str) -> int:
    intents = {
        r["stripe_payment_intent_id"]
        for r in await harness.sql(
            "SELECT stripe_payment_intent_id FROM payments.payments WHERE obligation_id = $1", uuid.UUID(obligation_id)
        )
    }
    at_stripe = (await harness.stripe.get("/v1/refunds", headers=STRIPE_AUTH)).json()["data"]
    return sum(r["amount"] for r in at_stripe if r["payment_intent"] in intents and r["status"] != "failed")


async def audit_actions(harness, obligation_id: str) -> list[str]:
    body = (
        await harness.http.get(f"/api/v1/payments/obligations/{obligation_id}/audit", headers=staff(harness))
    ).json()
    return [entry["action"] for entry in body["items"]]


# -- registration.expired -----------------------------------------------------------------------
async def test_an_expired_hold_cancels_the_unpaid_obligation_and_expires_its_checkout(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=8000)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    assert checkout["mode"] == "payment"

    envelope = await harness.from_circles("registration.expired", expired(obligation))
    closed = await harness.wait_status(obligation["id"], "cancelled")
    assert closed["amount_due"]["amount"] == 0 and closed["amount_paid"]["amount"] == 0

    async def expired_at_stripe():
        session = (
            await harness.stripe.get(f"/v1/checkout/sessions/{checkout['session_id']}", headers=STRIPE_AUTH)
        ).json()
        return session["status"] == "expired"

    await harness.wait_for(expired_at_stripe, what="the checkout session to be expired at Stripe")
    await harness.settle_webhooks()
    [row] = await harness.sql("SELECT status FROM payments.checkout_sessions")
    assert row["status"] == "expired"
    [task] = await harness.sql("SELECT kind, status, target FROM payments.stripe_tasks")
    assert (task["kind"], task["status"], task["target"]) == ("expire_checkout_session", "done", checkout["session_id"])
    async with httpx.AsyncClient(timeout=30) as browser:
        assert (await browser.get(checkout["url"])).status_code == 410  # the hosted page no longer takes money

    again = await harness.checkout(user, obligation["id"])
    assert again.status_code == 409 and again.json()["type"].endswith("obligation-closed")
    assert (await harness.checkout(uuid.uuid4(), obligation["id"])).status_code == 404
    offline = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/offline-payment",
        json={"amount": 100, "method": "cash"},
        headers=staff(harness),
    )
    assert offline.status_code == 409

    # At-least-once: the same envelope again, and the same fact in a new envelope, change nothing.
    await redeliver(harness, envelope)
    await applied(harness, await harness.from_circles("registration.expired", expired(obligation)))
    assert await audit_actions(harness, obligation["id"]) == ["created", "registration_expired"]
    assert len(await harness.sql("SELECT * FROM payments.stripe_tasks")) == 1
    audit = (
        await harness.http.get(f"/api/v1/payments/obligations/{obligation['id']}/audit", headers=staff(harness))
    ).json()["items"][-1]
    assert (audit["actor"], audit["status_before"], audit["status_after"]) == ("svc:circles", "pending", "cancelled")
    assert await harness.published("obligation.settled") == []


async def test_an_expired_hold_cancels_an_unpaid_instalment_plan_too(harness):
    user = uuid.uuid4()
    plan = await harness.registration(user, amount=9000, instalments=3)
    checkout = (await harness.checkout(user, plan["id"])).json()
    assert checkout["mode"] == "subscription"
    await applied(harness, await harness.from_circles("registration.expired", expired(plan)))
    assert (await harness.obligation(plan["id"]))["status"] == "cancelled"

    async def expired_at_stripe():
        session = (
            await harness.stripe.get(f"/v1/checkout/sessions/{checkout['session_id']}", headers=STRIPE_AUTH)
        ).json()
        return session["status"] == "expired"

    await harness.wait_for(expired_at_stripe, what="the subscription checkout to be expired")
    assert (await harness.checkout(user, plan["id"])).status_code == 409


async def test_an_expiry_for_a_paid_registration_keeps_the_money_until_circles_decides(harness):
    """Paid before the expiry was applied: circles got obligation.settled and decides. Here no seat
    was left, so it cancels with no_seat_after_payment and a full refund — once, however often."""
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=6000)
    await pay_once(harness, user, obligation)
    await harness.wait_published("obligation.settled", obligation_id=obligation["id"])

    await applied(harness, await harness.from_circles("registration.expired", expired(obligation)))
    kept = await harness.obligation(obligation["id"])
    assert (kept["status"], kept["amount_paid"]["amount"]) == ("settled", 6000)
    assert await refunds_of(harness, obligation["id"]) == []
    assert await harness.sql("SELECT * FROM payments.stripe_tasks") == []
    [row] = await harness.sql("SELECT attention FROM payments.obligations")
    assert row["attention"] is None

    envelope = await harness.from_circles(
        "registration.cancelled", cancelled(obligation, "full", reason="no_seat_after_payment")
    )
    await harness.wait_status(obligation["id"], "cancelled")
    [refund] = await all_refunds_succeeded(harness, obligation["id"], 1)
    assert (refund["amount"], refund["origin"]) == (6000, "registration_cancelled")
    [event] = await harness.wait_published("refund.succeeded")
    assert (event["registration_id"], event["amount"], event["origin"], event["payment_refunded_in_full"]) == (
        obligation["registration_id"],
        6000,
        "registration_cancelled",
        True,
    )

    # The same event twice (same envelope, then a new envelope with the same content): one refund.
    await redeliver(harness, envelope)
    await applied(
        harness,
        await harness.from_circles(
            "registration.cancelled", cancelled(obligation, "full", reason="no_seat_after_payment")
        ),
    )
    await harness.settle_webhooks()
    assert len(await refunds_of(harness, obligation["id"])) == 1
    assert await stripe_refunded(harness, obligation["id"]) == 6000
    [payment] = await harness.sql("SELECT amount, amount_refunded FROM payments.payments")
    assert payment["amount_refunded"] == payment["amount"] == 6000
    assert len(await harness.published("refund.succeeded")) == 1


async def test_a_payment_that_lands_after_the_expiry_is_refunded_once(harness):
    """The race: the member pays while circles' hold runs out, and the payment's webhooks arrive
    after registration.expired was applied. The money goes back automatically; circles' own
    no_seat_after_payment refund and duplicate webhooks refund nothing more."""
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=7000)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    async with harness.captured():
        paid = await harness.pay_hosted_page(checkout["url"])
        assert paid.status_code in (200, 303)
    await applied(harness, await harness.from_circles("registration.expired", expired(obligation)))
    assert (await harness.obligation(obligation["id"]))["status"] == "cancelled"

    late = await harness.events_of("checkout.session.completed") + await harness.events_of("payment_intent.succeeded")
    assert late
    for event in late:
        assert (await harness.send_webhook(event)).status_code == 200
    [refund] = await all_refunds_succeeded(harness, obligation["id"], 1)
    assert (refund["amount"], refund["origin"]) == (7000, "cancelled_obligation")
    after = await harness.obligation(obligation["id"])
    assert (after["status"], after["amount_paid"]["amount"]) == ("cancelled", 7000)
    assert await harness.published("obligation.settled") == []  # nothing for circles to confirm

    # Both paths: circles cancels with a full refund as well, and Stripe resends its webhooks.
    await applied(
        harness,
        await harness.from_circles(
            "registration.cancelled", cancelled(obligation, "full", reason="no_seat_after_payment")
        ),
    )
    for event in late:
        assert (await harness.send_webhook(event)).json()["duplicate"] is True
    await harness.settle_webhooks()
    assert len(await refunds_of(harness, obligation["id"])) == 1
    assert await stripe_refunded(harness, obligation["id"]) == 7000
    [payment] = await harness.sql("SELECT amount, amount_refunded FROM payments.payments")
    assert payment["amount_refunded"] == payment["amount"] == 7000
    assert [e["amount"] for e in await harness.published("refund.succeeded")] == [7000]
    # (entries written in one transaction share a timestamp, so compare without their order)
    assert sorted(await audit_actions(harness, obligation["id"])) == sorted(
        [
            "created",
            "registration_expired",
            "payment_received",
            "refund_requested",
            "refund_succeeded",
            "registration_cancelled",
        ]
    )


# -- registration.cancelled ---------------------------------------------------------------------
async def test_a_full_refund_cancellation_refunds_every_instalment_and_stops_the_plan(harness):
    user = uuid.uuid4()
    plan = await harness.registration(user, amount=9000, instalments=3)
    await pay_once(harness, user, plan)
    [sub] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    sub_id = sub["stripe_subscription_id"]
    await harness.stripe.post(f"/_standin/subscriptions/{sub_id}/renew")
    await harness.settle_webhooks()
    assert (await harness.obligation(plan["id"]))["amount_paid"]["amount"] == 6000

    envelope = await harness.from_circles("registration.cancelled", cancelled(plan, "full"))
    closed = await harness.wait_status(plan["id"], "cancelled")
    assert closed["amount_due"]["amount"] == 0
    refunds = await all_refunds_succeeded(harness, plan["id"], 2)
    assert sorted((r["amount"], r["origin"]) for r in refunds) == [(3000, "registration_cancelled")] * 2

    async def canceled_at_stripe():
        return (await harness.stripe_object(sub_id))["status"] == "canceled"

    await harness.wait_for(canceled_at_stripe, what="the instalment subscription to be cancelled now")
    await harness.settle_webhooks()
    [mirror] = await harness.sql("SELECT status FROM payments.subscriptions")
    [row] = await harness.sql("SELECT attention FROM payments.obligations")
    assert mirror["status"] == "canceled" and row["attention"] is None  # an expected end: nothing for staff
    assert {e["registration_id"] for e in await harness.wait_published("refund.succeeded", count=2)} == {
        plan["registration_id"]
    }

    await redeliver(harness, envelope)
    await applied(harness, await harness.from_circles("registration.cancelled", cancelled(plan, "full")))
    await harness.settle_webhooks()
    assert len(await refunds_of(harness, plan["id"])) == 2
    assert await stripe_refunded(harness, plan["id"]) == 6000
    assert (await harness.checkout(user, plan["id"])).status_code == 409


async def test_a_cancellation_without_refund_stops_future_instalments_and_keeps_what_was_paid(harness):
    """refund: none (after the cut-off): the subscription is cancelled at once — no further
    instalment is billed and Stripe stops retrying — and nothing is refunded."""
    user = uuid.uuid4()
    plan = await harness.registration(user, amount=9000, instalments=3)
    await pay_once(harness, user, plan)
    [sub] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    sub_id = sub["stripe_subscription_id"]

    await applied(harness, await harness.from_circles("registration.cancelled", cancelled(plan, "none")))
    closed = await harness.obligation(plan["id"])
    assert (closed["status"], closed["amount_paid"]["amount"], closed["amount_due"]["amount"]) == ("cancelled", 3000, 0)

    async def canceled_at_stripe():
        return (await harness.stripe_object(sub_id))["status"] == "canceled"

    await harness.wait_for(canceled_at_stripe, what="the instalment subscription to be cancelled")

    async def task_done():
        # The worker records the outcome after Stripe answered: under load that is a moment later.
        [task] = await harness.sql("SELECT kind, status FROM payments.stripe_tasks")
        return (task["kind"], task["status"]) == ("cancel_subscription", "done")

    await harness.wait_for(task_done, what="the cancel task to be recorded as done")
    renewal = await harness.stripe.post(f"/_standin/subscriptions/{sub_id}/renew")
    assert (
        renewal.status_code == 400 and renewal.json()["error"]["code"] == "subscription_not_live"
    )  # no next instalment
    invoices = (await harness.stripe.get("/v1/invoices", params={"subscription": sub_id}, headers=STRIPE_AUTH)).json()[
        "data"
    ]
    assert [i["amount_paid"] for i in invoices] == [3000]
    await harness.settle_webhooks()
    assert await refunds_of(harness, plan["id"]) == []
    [payment] = await harness.sql("SELECT amount_refunded FROM payments.payments")
    assert payment["amount_refunded"] == 0
    assert await harness.published("refund.succeeded") == []
    [entry] = [
        e
        for e in (
            await harness.http.get(f"/api/v1/payments/obligations/{plan['id']}/audit", headers=staff(harness))
        ).json()["items"]
        if e["action"] == "registration_cancelled"
    ]
    assert (entry["reason"], entry["data"]["refund"], entry["data"]["refunds"], entry["status_before"]) == (
        "by_participant",
        "none",
        [],
        "settled",
    )


async def test_an_unpaid_cancelled_registration_is_simply_cancelled_and_late_money_goes_back(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=5000)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    async with harness.captured():
        await harness.pay_hosted_page(checkout["url"])  # on the page while he cancels
    await applied(harness, await harness.from_circles("registration.cancelled", cancelled(obligation, "none")))
    assert (await harness.obligation(obligation["id"]))["status"] == "cancelled"
    assert await refunds_of(harness, obligation["id"]) == []
    assert (await harness.checkout(user, obligation["id"])).status_code == 409

    for event in await harness.events_of("checkout.session.completed"):
        await harness.send_webhook(event)
    [refund] = await all_refunds_succeeded(harness, obligation["id"], 1)
    assert (refund["amount"], refund["origin"]) == (5000, "cancelled_obligation")
    # circles learns nothing was kept; were it to ask for a full refund now, nothing more goes back.
    await applied(harness, await harness.from_circles("registration.cancelled", cancelled(obligation, "full")))
    await harness.settle_webhooks()
    assert (
        len(await refunds_of(harness, obligation["id"])) == 1
        and await stripe_refunded(harness, obligation["id"]) == 5000
    )


async def test_a_full_refund_cancellation_flags_offline_money_for_staff(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=4000)
    url = f"/api/v1/payments/obligations/{obligation['id']}/offline-payment"
    for amount, method in ((1500, "cash"), (2500, "bank_transfer")):
        response = await harness.http.post(url, json={"amount": amount, "method": method}, headers=staff(harness))
        assert response.status_code == 201, response.text
    await harness.wait_status(obligation["id"], "settled")

    envelope = await harness.from_circles("registration.cancelled", cancelled(obligation, "full"))
    await harness.wait_status(obligation["id"], "cancelled")
    assert await refunds_of(harness, obligation["id"]) == []  # handed back by staff, not by Stripe
    queue = (await harness.http.get("/api/v1/payments/interventions", headers=staff(harness))).json()
    [item] = [i for i in queue["items"] if i["obligation"]["id"] == obligation["id"]]
    assert "cash payment of 1500 EUR" in item["attention"] and "bank_transfer payment of 2500 EUR" in item["attention"]
    before = item["attention"]
    await redeliver(harness, envelope)
    [row] = await harness.sql("SELECT attention FROM payments.obligations")
    assert row["attention"] == before
    assert await harness.sql("SELECT * FROM payments.stripe_tasks") == []


async def test_cancellations_for_free_registrations_and_bad_payloads_change_nothing(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=3000)
    free = await harness.from_circles(
        "registration.cancelled",
        {
            "registration_id": uuid.uuid4(),
            "event_id": uuid.uuid4(),
            "user_id": user,
            "refund": "none",
            "reason": "by_participant",
            "amount": 0,
            "currency": "EUR",
        },
    )
    await applied(harness, free)  # applied (nothing to do), not retried or parked
    bad = await harness.from_circles("registration.cancelled", {**cancelled(obligation, "full"), "refund": "half"})
    nameless = await harness.from_circles("registration.expired", {"event_id": obligation["event_id"]})
    marker = await harness.from_circles("registration.expired", {"registration_id": uuid.uuid4()})
    await applied(harness, marker)
    for envelope in (bad, nameless):
        assert await harness.sql("SELECT 1 FROM payments.inbox WHERE event_id = $1", envelope.id) == []
    assert (await harness.obligation(obligation["id"]))["status"] == "pending"
    assert await audit_actions(harness, obligation["id"]) == ["created"]


# -- waking the worker --------------------------------------------------------------------------
async def test_a_consumed_event_wakes_the_worker_only_when_it_enqueued_stripe_tasks(harness, monkeypatch):
    """Every wake-up costs the worker a pass over tasks and webhooks: an obligation opened for a
    held seat enqueues no Stripe task and wakes nothing; a refund does, and wakes it at once."""
    wakeup = harness.app.state.runtime.worker_wakeup
    wakes: list[str] = []
    original = wakeup.set

    def counting() -> None:
        wakes.append("wake")
        original()

    monkeypatch.setattr(wakeup, "set", counting)
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=8000)
    assert wakes == []

    paid = await pay_once(harness, user, obligation)
    wakes.clear()
    envelope = await harness.from_circles("registration.cancelled", cancelled(paid, "full"))
    await applied(harness, envelope)
    assert wakes, "the refund's Stripe task did not wake the worker"
    await all_refunds_succeeded(harness, obligation["id"], 1)
