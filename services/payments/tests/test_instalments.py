"""Event fees paid in monthly instalments stop after the last one."""

from __future__ import annotations

import uuid


async def test_an_instalment_plan_stops_after_the_last_instalment(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=10000, instalments=3)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    first = await harness.wait_status(obligation["id"], "settled")
    assert (first["amount_paid"]["amount"], first["instalments_paid"], first["completed_at"]) == (3334, 1, None)
    [event] = await harness.wait_published("obligation.settled", obligation_id=obligation["id"])
    assert event["registration_id"] == obligation["registration_id"] and event["event_id"] == obligation["event_id"]

    [row] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    sub = row["stripe_subscription_id"]
    for _ in range(2):
        renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
        assert renewal["invoice"]["amount_paid"] == 3333
        await harness.settle_webhooks()
    done = await harness.obligation(obligation["id"], user)
    assert (done["status"], done["amount_paid"]["amount"], done["instalments_paid"]) == ("settled", 10000, 3)
    assert done["completed_at"] is not None

    async def ends_at_period_end():
        return (await harness.stripe_object(sub))["cancel_at_period_end"]

    await harness.wait_for(ends_at_period_end, what="the plan's subscription to be set to end")
    await harness.settle_webhooks()
    # Our own "end with this period" coming back from Stripe is not a change the member made.
    [row] = await harness.sql("SELECT attention FROM payments.obligations")
    assert row["attention"] is None
    after = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert after["invoice"] is None and after["subscription"]["status"] == "canceled"
    await harness.settle_webhooks()
    invoices = (
        await harness.stripe.get(
            "/v1/invoices", params={"subscription": sub}, headers={"Authorization": "Bearer sk_test_x"}
        )
    ).json()["data"]
    assert len(invoices) == 3 and sum(i["amount_paid"] for i in invoices) == 10000
    [row] = await harness.sql("SELECT status, attention FROM payments.obligations")
    assert (row["status"], row["attention"]) == ("settled", None)  # ended as planned: nothing for staff
