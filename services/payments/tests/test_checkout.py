"""POST /api/v1/payments/checkout and the Stripe customer behind it."""

from __future__ import annotations

import asyncio
import uuid

from mcm_payments.stripe_api import StripeRejected


async def stripe_session(harness, session_id: str, *expand: str) -> dict:
    params = [("expand[]", name) for name in expand]
    return (
        await harness.stripe.get(
            f"/v1/checkout/sessions/{session_id}", params=params, headers={"Authorization": "Bearer sk_test_x"}
        )
    ).json()


async def test_checkout_needs_a_token_and_is_only_for_the_owner(harness):
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    obligation = await harness.dues(owner)
    anonymous = await harness.http.post("/api/v1/payments/checkout", json={"obligation_id": obligation["id"]})
    assert anonymous.status_code == 401
    assert (await harness.checkout(stranger, obligation["id"])).status_code == 404
    assert (await harness.checkout(owner, str(uuid.uuid4()))).status_code == 404
    # Staff cannot pay on a member's behalf through checkout either: not theirs.
    staff = await harness.http.post(
        "/api/v1/payments/checkout", json={"obligation_id": obligation["id"]}, headers=harness.headers(None, "admin")
    )
    assert staff.status_code == 404
    assert await harness.sql("SELECT * FROM payments.customers") == []


async def test_bad_input_is_a_clear_4xx(harness):
    user = uuid.uuid4()
    for body in ({}, {"obligation_id": "nope"}, {"obligation_id": str(uuid.uuid4()), "amount": 1}):
        response = await harness.http.post("/api/v1/payments/checkout", json=body, headers=harness.headers(user))
        assert response.status_code == 422 and response.headers["content-type"].startswith("application/problem+json")


async def test_dues_use_a_monthly_subscription_with_urls_from_settings(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user, amount=1800)
    body = (await harness.checkout(user, obligation["id"])).json()
    assert body["mode"] == "subscription" and body["url"].startswith(harness.standin.url) and body["expires_at"]
    session = await stripe_session(harness, body["session_id"], "line_items")
    assert session["success_url"] == "http://127.0.0.1:9/done?session={CHECKOUT_SESSION_ID}"
    assert session["cancel_url"] == "http://127.0.0.1:9/cancelled"
    assert (
        session["metadata"]["obligation_id"] == obligation["id"] and session["client_reference_id"] == obligation["id"]
    )
    [line] = session["line_items"]["data"]
    assert (
        line["price"]["unit_amount"] == 1800
        and line["price"]["recurring"]["interval"] == "month"
        and line["currency"] == "eur"
    )


async def test_a_one_time_fee_uses_payment_mode(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=9900)
    body = (await harness.checkout(user, obligation["id"])).json()
    assert body["mode"] == "payment"
    session = await stripe_session(harness, body["session_id"], "line_items")
    assert (
        session["amount_total"] == 9900
        and session["payment_intent_data"]["metadata"]["obligation_id"] == obligation["id"]
    )


async def test_an_instalment_plan_bills_monthly_with_the_remainder_on_the_first_invoice(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=10000, instalments=3)
    assert obligation["amount_due"]["amount"] == 3334
    body = (await harness.checkout(user, obligation["id"])).json()
    assert body["mode"] == "subscription"
    session = await stripe_session(harness, body["session_id"], "line_items")
    amounts = sorted(
        (line["price"]["unit_amount"], bool(line["price"]["recurring"])) for line in session["line_items"]["data"]
    )
    assert amounts == [(1, False), (3333, True)]
    assert session["subscription_data"]["metadata"]["instalments"] == "3"


async def test_the_same_idempotency_key_gives_the_same_session_and_another_body_is_refused(harness):
    user = uuid.uuid4()
    first_obligation = await harness.dues(user)
    second_obligation = await harness.registration(user)
    first = await harness.checkout(user, first_obligation["id"], **{"Idempotency-Key": "k-1"})
    again = await harness.checkout(user, first_obligation["id"], **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = await harness.checkout(user, second_obligation["id"], **{"Idempotency-Key": "k-1"})
    assert other.status_code == 422 and other.json()["type"].endswith("/idempotency-key-reused")
    assert len(await harness.sql("SELECT * FROM payments.checkout_sessions")) == 1
    # Another member may use the same key string: keys belong to their caller.
    stranger = uuid.uuid4()
    theirs = await harness.dues(stranger)
    assert (await harness.checkout(stranger, theirs["id"], **{"Idempotency-Key": "k-1"})).status_code == 201


async def test_one_open_session_per_obligation_even_under_concurrent_requests(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user)
    responses = await asyncio.gather(*(harness.checkout(user, obligation["id"]) for _ in range(5)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["session_id"] for r in responses}) == 1
    assert len(await harness.sql("SELECT * FROM payments.checkout_sessions")) == 1


async def test_one_stripe_customer_per_user_with_no_contact_details(harness):
    user = uuid.uuid4()
    obligations = [await harness.dues(user), await harness.registration(user), await harness.registration(user)]
    responses = await asyncio.gather(*(harness.checkout(user, o["id"]) for o in obligations))
    assert {r.status_code for r in responses} == {201}
    [customer] = await harness.sql("SELECT user_id, stripe_customer_id FROM payments.customers")
    assert customer["user_id"] == user
    at_stripe = await harness.stripe_object(customer["stripe_customer_id"])
    assert at_stripe["metadata"] == {"user_id": str(user)} and at_stripe["email"] is None and at_stripe["name"] is None
    listed = (await harness.stripe.get("/v1/checkout/sessions", headers={"Authorization": "Bearer sk_test_x"})).json()[
        "data"
    ]
    assert {s["customer"] for s in listed} == {customer["stripe_customer_id"]}


async def test_nothing_to_pay_is_a_409(harness):
    user, support = uuid.uuid4(), uuid.uuid4()
    obligation = await harness.registration(user, amount=3000)
    paid = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(paid["url"])
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")
    assert (await harness.checkout(user, obligation["id"])).status_code == 409
    waived = await harness.registration(user, amount=3000)
    await harness.http.post(
        f"/api/v1/payments/obligations/{waived['id']}/waive",
        json={"reason": "hardship"},
        headers=harness.headers(support, "support"),
    )
    response = await harness.checkout(user, waived["id"])
    assert response.status_code == 409 and response.json()["type"].endswith("/obligation-closed")


async def test_stripe_down_is_a_fast_503_and_nothing_is_recorded(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user)
    await harness.standin.stop()
    response = await harness.checkout(user, obligation["id"])
    assert response.status_code == 503 and response.headers["retry-after"]
    assert await harness.sql("SELECT * FROM payments.checkout_sessions") == []


async def test_a_customer_deleted_at_stripe_is_replaced_and_its_late_events_still_count(harness):
    """A stored customer Stripe no longer knows (deleted in the dashboard) made checkout a 502
    "No such customer"; now a new customer is linked and the session created with it."""
    user = uuid.uuid4()
    fee = await harness.registration(user, amount=4000)
    first = (await harness.checkout(user, fee["id"])).json()
    [old] = await harness.sql("SELECT stripe_customer_id FROM payments.customers")
    old_id = old["stripe_customer_id"]
    deleted = await harness.stripe.delete(f"/v1/customers/{old_id}", headers={"Authorization": "Bearer sk_test_x"})
    assert deleted.status_code == 200 and deleted.json() == {"id": old_id, "object": "customer", "deleted": True}

    # Two obligations paid at once: one replacement, the same new customer for both.
    dues, other = await harness.dues(user), await harness.registration(user)
    responses = await asyncio.gather(harness.checkout(user, dues["id"]), harness.checkout(user, other["id"]))
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    sessions = [await stripe_session(harness, r.json()["session_id"]) for r in responses]
    [new_id] = {s["customer"] for s in sessions}
    assert new_id != old_id
    assert (await harness.stripe_object(new_id))["metadata"] == {"user_id": str(user)}
    links = await harness.sql(
        "SELECT stripe_customer_id, replaced_at FROM payments.customers WHERE user_id = $1 ORDER BY created_at", user
    )
    assert [(row["stripe_customer_id"], row["replaced_at"] is not None) for row in links] == [
        (old_id, True),
        (new_id, False),
    ]
    listed = (await harness.stripe.get("/v1/checkout/sessions", headers={"Authorization": "Bearer sk_test_x"})).json()[
        "data"
    ]
    assert len(listed) == 3  # no second replacement, no session with a missing customer

    # The member still had the first page open and pays there: its events name the old customer,
    # which is still known, so the payment counts.
    await harness.pay_hosted_page(first["url"])
    await harness.settle_webhooks()
    await harness.wait_status(fee["id"], "settled")
    flagged = await harness.sql("SELECT type FROM payments.webhook_events WHERE outcome = 'unknown_customer'")
    assert flagged == []


async def test_checkout_works_after_the_standin_restarts(harness):
    """The stand-in keeps its state in memory: after `make run` restarts, every stored customer
    is unknown to it."""
    user = uuid.uuid4()
    first = await harness.dues(user)
    assert (await harness.checkout(user, first["id"])).status_code == 201
    [old] = await harness.sql("SELECT stripe_customer_id FROM payments.customers")
    await harness.restart_standin()
    fee = await harness.registration(user, amount=3000)
    response = await harness.checkout(user, fee["id"])
    assert response.status_code == 201, response.text
    session = await stripe_session(harness, response.json()["session_id"])
    assert session["customer"] != old["stripe_customer_id"]
    [current] = await harness.sql("SELECT stripe_customer_id FROM payments.customers WHERE replaced_at IS NULL")
    assert current["stripe_customer_id"] == session["customer"]
    # And it can be paid.
    await harness.pay_hosted_page(response.json()["url"])
    await harness.settle_webhooks()
    await harness.wait_status(fee["id"], "settled")


async def test_the_retry_is_made_once(harness, monkeypatch):
    """When Stripe refuses the new customer too, the member gets the 502 (no loop)."""
    user = uuid.uuid4()
    obligation = await harness.dues(user)
    stripe = harness.app.state.runtime.stripe
    calls: list[tuple[str, str]] = []

    async def customer_always_missing(params, key):
        calls.append((params["customer"], key))
        raise StripeRejected(f"No such customer: '{params['customer']}'", code="resource_missing", param="customer")

    monkeypatch.setattr(stripe, "create_checkout_session", customer_always_missing)
    response = await harness.checkout(user, obligation["id"], **{"Idempotency-Key": "k-retry"})
    assert response.status_code == 502 and "No such customer" in response.json()["detail"]
    # The second attempt names the new customer, under another Stripe idempotency key.
    assert len(calls) == 2 and calls[0][0] != calls[1][0] and calls[0][1] != calls[1][1]
    assert await harness.sql("SELECT * FROM payments.checkout_sessions") == []
