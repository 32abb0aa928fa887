"""Support and admin retry a flagged Stripe event: processed again through the same handlers,
once (a retry of what was applied changes nothing), audited, answered with the new outcome."""

from __future__ import annotations

import uuid

RETRY = "/api/v1/payments/webhooks/flagged/{}/retry"


async def flagged_payment(harness):
    """A one-time fee paid at Stripe while its customer link is not there (as if the link's commit
    had not happened yet): the payment's events arrive for a customer we do not know."""
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=4500)
    async with harness.captured():
        checkout = (await harness.checkout(user, obligation["id"])).json()
        assert (await harness.pay_hosted_page(checkout["url"])).status_code == 303
    [link] = await harness.sql("DELETE FROM payments.customers RETURNING user_id, stripe_customer_id")
    [completed] = await harness.events_of("checkout.session.completed", checkout["session_id"])
    assert (await harness.send_webhook(completed)).status_code == 200
    row = await harness.processed(completed["id"])
    assert row["outcome"] == "unknown_customer" and row["flagged"]
    return user, obligation, completed, link


async def retry(harness, event_id: str, *roles: str, reason: str | None = "customer link restored"):
    return await harness.http.post(
        RETRY.format(event_id), json={"reason": reason}, headers=harness.headers(None, *(roles or ("support",)))
    )


async def test_a_flagged_event_retried_after_the_fix_is_processed_once(harness):
    _user, obligation, completed, link = await flagged_payment(harness)

    still = await retry(harness, completed["id"])
    assert still.status_code == 200, still.text
    assert still.json()["result"] == "still_failing" and still.json()["outcome"] == "unknown_customer"
    assert "not linked to any member" in still.json()["reason"]
    assert (await harness.obligation(obligation["id"]))["status"] == "pending"

    # The fix: the member's customer link is there.
    await harness.sql(
        "INSERT INTO payments.customers (id, user_id, stripe_customer_id) VALUES ($1, $2, $3)",
        uuid.uuid4(),
        link["user_id"],
        link["stripe_customer_id"],
    )
    done = await retry(harness, completed["id"], "admin")
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["result"] == "processed" and body["outcome"] == "applied" and body["reason"] is None
    assert body["event"]["stripe_event_id"] == completed["id"] and body["event"]["last_error"] is None
    settled = await harness.wait_status(obligation["id"], "settled")
    assert settled["amount_paid"]["amount"] == 4500
    await harness.wait_published("obligation.settled", obligation_id=obligation["id"])
    flagged = (
        await harness.http.get("/api/v1/payments/webhooks/flagged", headers=harness.headers(None, "support"))
    ).json()
    assert completed["id"] not in [item["stripe_event_id"] for item in flagged["items"]]

    # Again (by the row id this time): nothing is done twice.
    again = await retry(harness, body["event"]["id"])
    assert again.json()["result"] == "already_processed" and again.json()["outcome"] == "applied"
    payments = await harness.sql(
        "SELECT amount FROM payments.payments WHERE obligation_id = $1", uuid.UUID(obligation["id"])
    )
    assert [p["amount"] for p in payments] == [4500]
    assert len(await harness.published("obligation.settled")) == 1

    audit = await harness.sql(
        "SELECT actor, actor_roles, reason, outcome_before, result, outcome_after, error "
        "FROM payments.webhook_retries ORDER BY created_at"
    )
    assert [(a["result"], a["outcome_before"], a["outcome_after"]) for a in audit] == [
        ("still_failing", "unknown_customer", "unknown_customer"),
        ("processed", "unknown_customer", "applied"),
        ("already_processed", "applied", "applied"),
    ]
    assert audit[0]["actor"].startswith("user:") and audit[0]["reason"] == "customer link restored"
    assert '"admin"' in audit[1]["actor_roles"] and audit[0]["error"]


async def test_only_support_and_admin_retry_and_unknown_events_are_404(harness):
    _user, obligation, completed, _link = await flagged_payment(harness)
    for roles in (("member",), ("leadership",), ("facilitator",), ("ptm",)):
        response = await retry(harness, completed["id"], *roles)
        assert response.status_code == 403, (roles, response.text)
    assert (await harness.http.post(RETRY.format(completed["id"]))).status_code == 401
    assert (await retry(harness, "evt_nothing_like_it")).status_code == 404
    assert (await retry(harness, str(uuid.uuid4()))).status_code == 404
    assert (await harness.sql("SELECT count(*) AS n FROM payments.webhook_retries"))[0]["n"] == 0
    assert (await harness.obligation(obligation["id"]))["status"] == "pending"
    # No body at all is fine too (the reason is optional).
    bare = await harness.http.post(RETRY.format(completed["id"]), headers=harness.headers(None, "support"))
    assert bare.status_code == 200 and bare.json()["result"] == "still_failing"


async def test_an_event_whose_processing_fails_is_still_failing_with_the_reason_then_processed(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user)
    async with harness.captured():
        checkout = (await harness.checkout(user, obligation["id"])).json()
        assert (await harness.pay_hosted_page(checkout["url"])).status_code == 303
    [completed] = await harness.events_of("checkout.session.completed", checkout["session_id"])

    # Stripe is unreachable: linking the subscription needs it, so processing fails (and is retried).
    old = harness.standin
    await old.stop()
    try:
        assert (await harness.send_webhook(completed)).status_code == 200

        async def failed_once():
            rows = await harness.sql(
                "SELECT attempts, last_error FROM payments.webhook_events WHERE stripe_event_id = $1", completed["id"]
            )
            return rows and rows[0]["last_error"]

        await harness.wait_for(failed_once, what="the event to fail")
        still = await retry(harness, completed["id"], reason="Stripe back?")
        assert still.status_code == 200, still.text
        assert still.json()["result"] == "still_failing" and "StripeUnavailable" in still.json()["reason"]
        assert still.json()["event"]["processed_at"] is None
        # The worker's own next try is far off (its backoff), so the retry below is what processes it.
        await harness.sql(
            "UPDATE payments.webhook_events SET next_attempt_at = now() + interval '1 hour' WHERE stripe_event_id = $1",
            completed["id"],
        )
    finally:
        # The same stand-in (same objects) serving again, as when Stripe's outage ends.
        harness.standin = await type(old)(old.app, port=old.port).start()

    done = await retry(harness, completed["id"])
    assert done.json()["result"] == "processed" and done.json()["outcome"] == "applied", done.text
    [row] = await harness.sql(
        "SELECT stripe_subscription_id FROM payments.subscriptions WHERE obligation_id = $1",
        uuid.UUID(obligation["id"]),
    )
    assert row["stripe_subscription_id"].startswith("sub_")
    audit = await harness.sql("SELECT result, error FROM payments.webhook_retries ORDER BY created_at")
    assert [a["result"] for a in audit] == ["still_failing", "processed"] and "StripeUnavailable" in audit[0]["error"]
