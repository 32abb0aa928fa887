"""Refunds: staff refunds with Idempotency-Key, never more than was paid (even concurrently),
status following Stripe's webhooks, and automatic full refunds when an event is cancelled."""

from __future__ import annotations

import asyncio
import uuid


async def paid_fee(harness, user, amount=10000, event_id=None):
    obligation = await harness.registration(user, amount=amount, event_id=event_id)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")
    [payment] = await harness.sql(
        "SELECT id FROM payments.payments WHERE obligation_id = $1", uuid.UUID(obligation["id"])
    )
    return obligation, str(payment["id"])


def staff(harness, **extra):
    return harness.headers(uuid.uuid4(), "support", **extra)


async def refund_status(harness, refund_id: str) -> str:
    [row] = await harness.sql("SELECT status FROM payments.refunds WHERE id = $1", uuid.UUID(refund_id))
    return row["status"]


async def test_a_partial_refund_follows_stripe_to_succeeded_and_is_published(harness):
    user = uuid.uuid4()
    obligation, payment_id = await paid_fee(harness, user)
    response = await harness.http.post(
        f"/api/v1/payments/{payment_id}/refunds",
        json={"amount": 2500, "reason": "Left early, agreed"},
        headers=staff(harness, **{"Idempotency-Key": "r-1"}),
    )
    assert response.status_code == 201, response.text
    refund = response.json()
    assert (
        refund["amount"] == 2500
        and refund["status"] in {"requested", "pending", "succeeded"}
        and refund["origin"] == "staff"
    )
    await harness.settle_webhooks()

    async def succeeded():
        return await refund_status(harness, refund["id"]) == "succeeded"

    await harness.wait_for(succeeded, what="the refund to succeed")
    [event] = await harness.wait_published("refund.succeeded")
    assert (event["refund_id"], event["amount"], event["kind"]) == (refund["id"], 2500, "registration")
    assert event["registration_id"] == obligation["registration_id"] and event["user_id"] == str(user)
    assert event["obligation_id"] == obligation["id"] and event["payment_id"] == payment_id
    history = (await harness.http.get("/api/v1/payments/history", headers=harness.headers(user))).json()
    [entry] = history["items"]
    assert entry["amount_refunded"]["amount"] == 2500 and [r["status"] for r in entry["refunds"]] == ["succeeded"]


async def test_the_idempotency_key_replays_the_same_refund(harness):
    _, payment_id = await paid_fee(harness, uuid.uuid4())
    headers = staff(harness, **{"Idempotency-Key": "same"})
    first = await harness.http.post(
        f"/api/v1/payments/{payment_id}/refunds", json={"amount": 1000, "reason": "goodwill"}, headers=headers
    )
    again = await harness.http.post(
        f"/api/v1/payments/{payment_id}/refunds", json={"amount": 1000, "reason": "goodwill"}, headers=headers
    )
    assert first.status_code == again.status_code == 201 and first.json()["id"] == again.json()["id"]
    other = await harness.http.post(
        f"/api/v1/payments/{payment_id}/refunds", json={"amount": 2000, "reason": "goodwill"}, headers=headers
    )
    assert other.status_code == 422
    assert len(await harness.sql("SELECT * FROM payments.refunds")) == 1


async def test_concurrent_refunds_never_exceed_what_was_paid(harness):
    _, payment_id = await paid_fee(harness, uuid.uuid4(), amount=10000)
    responses = await asyncio.gather(
        *(
            harness.http.post(
                f"/api/v1/payments/{payment_id}/refunds",
                json={"amount": 4000, "reason": "split"},
                headers=staff(harness),
            )
            for _ in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [201, 201] + [409] * 8
    [payment] = await harness.sql(
        "SELECT amount, amount_refunded FROM payments.payments WHERE id = $1", uuid.UUID(payment_id)
    )
    assert payment["amount_refunded"] == 8000
    rest = await harness.http.post(
        f"/api/v1/payments/{payment_id}/refunds", json={"reason": "the rest"}, headers=staff(harness)
    )
    assert rest.status_code == 201 and rest.json()["amount"] == 2000
    more = await harness.http.post(
        f"/api/v1/payments/{payment_id}/refunds", json={"amount": 1, "reason": "one more"}, headers=staff(harness)
    )
    assert more.status_code == 409
    await harness.settle_webhooks()
    charges = (await harness.stripe.get("/v1/refunds", headers={"Authorization": "Bearer sk_test_x"})).json()["data"]
    assert sum(r["amount"] for r in charges) == 10000


async def test_the_database_itself_refuses_to_refund_more_than_was_paid(harness):
    _, payment_id = await paid_fee(harness, uuid.uuid4(), amount=500)
    try:
        await harness.execute(f"UPDATE payments.payments SET amount_refunded = 501 WHERE id = '{payment_id}'")  # noqa: S608
    except Exception as exc:  # asyncpg CheckViolationError
        assert "refund_within_amount" in str(exc)
    else:
        raise AssertionError("the check constraint let an over-refund through")


async def test_only_support_and_admin_refund_and_unknown_payments_are_404(harness):
    user = uuid.uuid4()
    _, payment_id = await paid_fee(harness, user)
    for role in ("member", "leadership", "ptm"):
        response = await harness.http.post(
            f"/api/v1/payments/{payment_id}/refunds", json={"reason": "please"}, headers=harness.headers(user, role)
        )
        assert response.status_code == 403
    missing = await harness.http.post(
        f"/api/v1/payments/{uuid.uuid4()}/refunds", json={"reason": "x"}, headers=staff(harness)
    )
    assert missing.status_code == 404
    assert (
        await harness.http.post(
            f"/api/v1/payments/{payment_id}/refunds", json={"amount": 0, "reason": "x"}, headers=staff(harness)
        )
    ).status_code == 422
    assert await harness.sql("SELECT * FROM payments.refunds") == []


async def test_a_failed_refund_releases_the_amount_and_flags_the_obligation(harness):
    await harness.stripe.put("/_standin/config", json={"refund_settle_seconds": None})
    obligation, payment_id = await paid_fee(harness, uuid.uuid4(), amount=3000)
    refund = (
        await harness.http.post(
            f"/api/v1/payments/{payment_id}/refunds", json={"reason": "oops"}, headers=staff(harness)
        )
    ).json()
    [row] = await harness.sql("SELECT stripe_refund_id FROM payments.refunds")
    await harness.settle_webhooks()
    assert (await harness.stripe.post(f"/_standin/refunds/{row['stripe_refund_id']}/fail")).status_code == 200
    await harness.settle_webhooks()
    assert await refund_status(harness, refund["id"]) == "failed"
    [payment] = await harness.sql("SELECT amount_refunded FROM payments.payments")
    assert payment["amount_refunded"] == 0
    queue = (await harness.http.get("/api/v1/payments/interventions", headers=staff(harness))).json()
    assert [i["obligation"]["id"] for i in queue["items"]] == [obligation["id"]] and "failed" in queue["items"][0][
        "attention"
    ]
    assert await harness.published("refund.succeeded") == []


async def test_a_refund_made_in_the_stripe_dashboard_is_recorded(harness):
    _, _payment_id = await paid_fee(harness, uuid.uuid4(), amount=4000)
    [payment] = await harness.sql("SELECT stripe_payment_intent_id FROM payments.payments")
    made_at_stripe = await harness.stripe.post(
        "/v1/refunds",
        data={"payment_intent": payment["stripe_payment_intent_id"], "amount": "1500"},
        headers={"Authorization": "Bearer sk_test_x"},
    )
    assert made_at_stripe.status_code == 200
    await harness.settle_webhooks()

    async def recorded():
        rows = await harness.sql("SELECT origin, amount, status FROM payments.refunds")
        return rows and rows[0]["status"] == "succeeded" and rows

    [row] = await harness.wait_for(recorded, what="the dashboard refund to be recorded")
    assert (row["origin"], row["amount"]) == ("stripe", 1500)
    [payment] = await harness.sql("SELECT amount_refunded FROM payments.payments")
    assert payment["amount_refunded"] == 1500


async def test_event_cancelled_refunds_every_payment_of_that_event_in_full(harness):
    event_id, other_event = uuid.uuid4(), uuid.uuid4()
    alice, bob, carol, dave = (uuid.uuid4() for _ in range(4))
    one_time, _ = await paid_fee(harness, alice, amount=12000, event_id=event_id)
    plan = await harness.registration(bob, amount=9000, instalments=3, event_id=event_id)
    checkout = (await harness.checkout(bob, plan["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    [sub] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    await harness.stripe.post(f"/_standin/subscriptions/{sub['stripe_subscription_id']}/renew")
    await harness.settle_webhooks()
    unpaid = await harness.registration(carol, amount=5000, event_id=event_id)
    elsewhere, _ = await paid_fee(harness, dave, amount=7000, event_id=other_event)
    partly_refunded = (
        await harness.sql("SELECT id FROM payments.payments WHERE obligation_id = $1", uuid.UUID(one_time["id"]))
    )[0]["id"]
    await harness.http.post(
        f"/api/v1/payments/{partly_refunded}/refunds", json={"amount": 2000, "reason": "early"}, headers=staff(harness)
    )

    await harness.from_circles("event.cancelled", {"event_id": event_id})
    for obligation in (one_time, plan, unpaid):
        await harness.wait_status(obligation["id"], "cancelled")
    await harness.wait_published("refund.succeeded", count=4)  # 2000 by hand, then 10000, 3000 and 3000
    await harness.settle_webhooks()
    refunds = await harness.sql(
        "SELECT r.amount, r.origin, r.status, p.obligation_id"
        " FROM payments.refunds r JOIN payments.payments p ON p.id = r.payment_id"
    )
    automatic = sorted((r["amount"], str(r["obligation_id"])) for r in refunds if r["origin"] == "event_cancelled")
    assert automatic == sorted([(10000, one_time["id"]), (3000, plan["id"]), (3000, plan["id"])])
    assert all(r["status"] == "succeeded" for r in refunds)
    payments = await harness.sql("SELECT obligation_id, amount, amount_refunded FROM payments.payments")
    assert all(p["amount"] == p["amount_refunded"] for p in payments if str(p["obligation_id"]) != elsewhere["id"])
    assert (await harness.obligation(elsewhere["id"]))["status"] == "settled"
    assert (await harness.stripe_object(sub["stripe_subscription_id"]))["status"] == "canceled"
    published = await harness.published("refund.succeeded")
    assert {e["registration_id"] for e in published} == {one_time["registration_id"], plan["registration_id"]}
    # Delivered twice, the event refunds nothing more.
    await harness.from_circles("event.cancelled", {"event_id": event_id})
    await asyncio.sleep(1.0)
    assert len(await harness.sql("SELECT * FROM payments.refunds")) == len(refunds)


async def test_a_payment_arriving_after_the_event_was_cancelled_is_refunded(harness):
    user, event_id = uuid.uuid4(), uuid.uuid4()
    obligation = await harness.registration(user, amount=4000, event_id=event_id)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    async with harness.captured():
        await harness.pay_hosted_page(checkout["url"])
    await harness.from_circles("event.cancelled", {"event_id": event_id})
    await harness.wait_status(obligation["id"], "cancelled")
    for event in await harness.events_of("checkout.session.completed"):
        await harness.send_webhook(event)

    async def refunded():
        rows = await harness.sql("SELECT origin, status FROM payments.refunds")
        return rows and rows[0]["status"] == "succeeded" and rows

    [row] = await harness.wait_for(refunded, what="the late payment to be refunded")
    assert row["origin"] == "cancelled_obligation"
