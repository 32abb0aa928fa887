"""POST /api/v1/payments/webhooks/stripe: signature on the raw body, stored before 2xx,
idempotent and order-proof processing, flags for what is not ours, 5xx when not stored."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import httpx

from mcm_devstack.engines import free_port
from mcm_payments.bus import Streams
from mcm_payments.config import DEV_STRIPE_WEBHOOK_SECRET
from mcm_payments.main import create_app
from mcm_payments.webhooks import handlers, processor, service
from mcm_stripe_standin.webhooks import sign

PATH = "/api/v1/payments/webhooks/stripe"


def fake_event(type_: str = "customer.created", **obj) -> dict:
    return {
        "id": f"evt_{uuid.uuid4().hex}",
        "object": "event",
        "type": type_,
        "created": int(time.time()),
        "livemode": False,
        "data": {"object": {"id": f"obj_{uuid.uuid4().hex[:8]}", "object": type_.split(".")[0], **obj}},
    }


async def stored(harness, event_id: str) -> list[dict]:
    return [
        dict(r) for r in await harness.sql("SELECT * FROM payments.webhook_events WHERE stripe_event_id = $1", event_id)
    ]


async def test_missing_signature_is_refused_and_nothing_is_stored(harness):
    event = fake_event()
    response = await harness.http.post(PATH, content=json.dumps(event), headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await stored(harness, event["id"]) == []


async def test_a_signature_made_with_another_secret_is_refused(harness):
    event = fake_event()
    response = await harness.send_webhook(event, secret="whsec_someone_else")
    assert response.status_code == 400 and response.json()["type"].endswith("/invalid-webhook-signature")
    assert await stored(harness, event["id"]) == []


async def test_one_changed_byte_is_refused(harness):
    event = fake_event(amount=1000)
    raw = json.dumps(event).encode()
    header = sign(raw, harness.secret)
    tampered = raw.replace(b'"amount": 1000', b'"amount": 9000')
    assert len(tampered) == len(raw) and tampered != raw
    response = await harness.send_webhook(event, body=tampered, signature=header)
    assert response.status_code == 400
    assert await stored(harness, event["id"]) == []


async def test_a_stale_timestamp_is_refused_even_with_a_valid_signature(harness):
    event = fake_event()
    response = await harness.send_webhook(event, timestamp=int(time.time()) - 301)
    assert response.status_code == 400
    fresh_enough = await harness.send_webhook(event, timestamp=int(time.time()) - 290)
    assert fresh_enough.status_code == 200


async def test_garbage_headers_and_bodies_are_400_never_500(harness):
    for header in ("t=abc,v1=def", "v1=deadbeef", "nonsense", "t=,v1="):
        assert (await harness.send_webhook(fake_event(), signature=header)).status_code == 400
    signed_not_json = b"this is not json"
    assert (await harness.send_webhook({}, body=signed_not_json)).status_code == 400
    assert (await harness.send_webhook({}, body=b'{"id": "evt_1"}')).status_code == 400
    huge = b"{" + b" " * (600 * 1024) + b"}"
    assert (await harness.send_webhook({}, body=huge)).status_code == 413

    async def chunks():
        for _ in range(700):
            yield b" " * 1024

    streamed = await harness.http.post(PATH, content=chunks(), headers={"Stripe-Signature": "t=1,v1=00"})
    assert streamed.status_code == 413  # no Content-Length: the cap holds while reading


async def test_a_validly_signed_non_ascii_body_is_accepted_and_stored_as_sent(harness):
    event = fake_event("product.updated", name="Retraite d'été à Zürich — ✓ 男性サークル")
    raw = json.dumps(event, ensure_ascii=False).encode("utf-8")
    assert any(byte > 127 for byte in raw)
    response = await harness.send_webhook(event, body=raw)
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    row = await harness.processed(event["id"])
    assert json.loads(row["payload"])["data"]["object"]["name"] == "Retraite d'été à Zürich — ✓ 男性サークル"
    assert row["outcome"] == "ignored"


async def test_an_unknown_event_type_is_acknowledged_and_ignored(harness):
    event = fake_event("issuing_card.created", customer=None)
    response = await harness.send_webhook(event)
    assert response.status_code == 200
    row = await harness.processed(event["id"])
    assert (row["outcome"], row["flagged"]) == ("ignored", False)


async def _paid_one_time_fee(harness, user):
    obligation = await harness.registration(user, amount=4500)
    async with harness.captured():
        checkout = (await harness.checkout(user, obligation["id"])).json()
        assert (await harness.pay_hosted_page(checkout["url"])).status_code == 303
    return obligation, checkout


async def test_the_same_event_ten_times_concurrently_has_exactly_one_effect(harness):
    user = uuid.uuid4()
    obligation, checkout = await _paid_one_time_fee(harness, user)
    [completed] = await harness.events_of("checkout.session.completed", checkout["session_id"])
    responses = await asyncio.gather(*(harness.send_webhook(completed) for _ in range(10)))
    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["duplicate"] for r in responses) == [False] + [True] * 9
    assert len(await stored(harness, completed["id"])) == 1
    # The payment intent's own event describes the same payment: still one payment.
    [succeeded] = await harness.events_of("payment_intent.succeeded")
    await asyncio.gather(*(harness.send_webhook(succeeded) for _ in range(10)))
    await harness.inbox_processed()
    payments = await harness.sql(
        "SELECT amount FROM payments.payments WHERE obligation_id = $1", uuid.UUID(obligation["id"])
    )
    assert [p["amount"] for p in payments] == [4500]
    assert (await harness.obligation(obligation["id"], user))["status"] == "settled"
    await harness.wait_published("obligation.settled", obligation_id=obligation["id"])
    await asyncio.sleep(0.3)  # the relay had time to publish any duplicate
    assert (
        len([e for e in await harness.published("obligation.settled") if e["obligation_id"] == obligation["id"]]) == 1
    )


async def test_out_of_order_delivery_never_moves_state_backwards(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user, amount=3000)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"], card="4000000000000341")
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")
    [sub] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    async with harness.captured():
        renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub['stripe_subscription_id']}/renew")).json()
        invoice = renewal["invoice"]
        assert invoice["status"] == "open"
        paid_page = await harness.pay_hosted_page(invoice["hosted_invoice_url"])  # a new card on the invoice page
        assert paid_page.status_code == 200
    [failed] = await harness.events_of("invoice.payment_failed", invoice["id"])
    [paid] = await harness.events_of("invoice.paid", invoice["id"])
    updates = await harness.events_of("customer.subscription.updated", sub["stripe_subscription_id"])
    past_due = [e for e in updates if e["data"]["object"]["status"] == "past_due"][-1]
    active_again = [e for e in updates if e["data"]["object"]["status"] == "active"][-1]
    # Newest first: the payment, the subscription active again, then the older failure news,
    # each processed before the next arrives.
    for event in (paid, active_again, failed, past_due):
        assert (await harness.send_webhook(event)).status_code == 200
        await harness.processed(event["id"])
    current = await harness.obligation(obligation["id"], user)
    assert (
        current["status"] == "settled"
        and current["amount_paid"]["amount"] == 6000
        and current["amount_due"]["amount"] == 0
    )
    [row] = await stored(harness, failed["id"])
    assert row["outcome"] == "stale"
    [mirror] = await harness.sql("SELECT status FROM payments.subscriptions")
    assert mirror["status"] == "active"
    assert [e for e in await harness.published("obligation.overdue") if e["obligation_id"] == obligation["id"]] == []


async def test_an_event_for_an_unknown_customer_is_stored_flagged_and_grants_nothing(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=2000)
    forged = fake_event(
        "payment_intent.succeeded",
        customer="cus_not_ours",
        amount=2000,
        amount_received=2000,
        currency="eur",
        metadata={"obligation_id": obligation["id"]},
        status="succeeded",
    )
    response = await harness.send_webhook(forged)
    assert response.status_code == 200
    row = await harness.processed(forged["id"])
    assert (row["outcome"], row["flagged"]) == ("unknown_customer", True)
    assert await harness.sql("SELECT * FROM payments.payments") == []
    assert (await harness.obligation(obligation["id"], user))["status"] == "pending"
    flagged = await harness.http.get("/api/v1/payments/webhooks/flagged", headers=harness.headers(None, "support"))
    assert [(e["stripe_event_id"], e["outcome"]) for e in flagged.json()["items"]] == [
        (forged["id"], "unknown_customer")
    ]
    assert (
        await harness.http.get("/api/v1/payments/webhooks/flagged", headers=harness.headers(user))
    ).status_code == 403


async def test_a_storage_failure_answers_503_so_stripe_retries_and_the_retry_is_stored(harness):
    await harness.execute("""
        CREATE FUNCTION payments.refuse() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON payments.webhook_events FOR EACH ROW EXECUTE FUNCTION payments.refuse();
    """)
    event = fake_event()
    response = await harness.send_webhook(event)
    assert response.status_code == 503 and response.headers["retry-after"]
    assert response.json()["type"].endswith("/webhook-not-stored")
    await harness.sql("DROP TRIGGER refuse ON payments.webhook_events")
    assert (await harness.send_webhook(event)).status_code == 200
    assert len(await stored(harness, event["id"])) == 1


async def test_webhooks_arriving_together_are_stored_by_shared_commits(harness):
    """Group commit: every commit waits for the disk, so concurrent webhooks share INSERTs and
    commits (rows of one statement carry the same transaction id, xmin) and each is answered
    only once its row is stored."""
    events = [fake_event() for _ in range(24)]
    responses = await asyncio.gather(*(harness.send_webhook(event) for event in events))
    assert [(r.status_code, r.json()["duplicate"]) for r in responses] == [(200, False)] * len(events)
    rows = await harness.sql(
        "SELECT stripe_event_id, xmin::text AS tx FROM payments.webhook_events WHERE stripe_event_id = ANY($1)",
        [e["id"] for e in events],
    )
    assert sorted(r["stripe_event_id"] for r in rows) == sorted(e["id"] for e in events)
    assert len({r["tx"] for r in rows}) < len(events) // 2, "each webhook paid for its own commit"


async def test_a_row_the_database_refuses_fails_only_its_own_webhook_of_a_shared_batch(harness):
    # PostgreSQL's jsonb has no NUL character, though JSON may carry one: this event cannot be stored.
    good = [fake_event() for _ in range(8)]
    bad = fake_event(name="\u0000")
    everything = [*good[:4], bad, *good[4:]]
    responses = await asyncio.gather(*(harness.send_webhook(event) for event in everything))
    statuses = {event["id"]: response.status_code for event, response in zip(everything, responses, strict=True)}
    assert statuses.pop(bad["id"]) == 503
    assert set(statuses.values()) == {200}
    for event in good:
        assert len(await stored(harness, event["id"])) == 1
    assert await stored(harness, bad["id"]) == []


async def test_a_database_that_is_down_answers_503_quickly(serve, redis_url, payments_settings):
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    tag = uuid.uuid4().hex[:8]
    app = create_app(
        payments_settings(dead, redis_url, "http://127.0.0.1:9"), streams=Streams(f"test:{tag}:p", (f"test:{tag}:c",))
    )
    served = await serve(app)
    event = fake_event()
    raw = json.dumps(event).encode()
    started = time.monotonic()
    async with httpx.AsyncClient(base_url=served.url) as client:
        response = await client.post(
            PATH, content=raw, headers={"Stripe-Signature": sign(raw, DEV_STRIPE_WEBHOOK_SECRET)}
        )
    assert response.status_code == 503 and response.headers["retry-after"]
    assert time.monotonic() - started < 5


async def test_a_processing_failure_is_acknowledged_and_retried_by_the_worker(harness):
    user = uuid.uuid4()
    obligation, checkout = await _paid_one_time_fee(harness, user)
    [completed] = await harness.events_of("checkout.session.completed", checkout["session_id"])
    await harness.execute("""
        CREATE FUNCTION payments.refuse() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN RAISE EXCEPTION 'constraint bug'; END $$;
        CREATE TRIGGER refuse BEFORE INSERT ON payments.payments FOR EACH ROW EXECUTE FUNCTION payments.refuse();
    """)
    response = await harness.send_webhook(completed)
    assert response.status_code == 200  # stored: Stripe must not resend, we retry ourselves

    async def attempted() -> list[dict]:
        return [row for row in await stored(harness, completed["id"]) if row["attempts"] >= 1]

    [row] = await harness.wait_for(attempted, what="a first attempt")
    assert row["processed_at"] is None and "constraint bug" in row["last_error"]
    await harness.sql("DROP TRIGGER refuse ON payments.payments")
    await harness.wait_status(obligation["id"], "settled", timeout=15)
    [row] = await stored(harness, completed["id"])
    assert row["outcome"] == "applied" and row["last_error"] is None


def _held_processing(monkeypatch, fail: set[str] = frozenset()):
    """Processing waits until the returned event is set; events whose id is in `fail` raise."""
    release = asyncio.Event()
    dispatch = handlers.dispatch

    async def held(session, runtime, event):
        await release.wait()
        if event["id"] in fail:
            raise RuntimeError("handler bug")
        return await dispatch(session, runtime, event)

    monkeypatch.setattr(handlers, "dispatch", held)
    return release


async def _occupy_every_lane(harness) -> None:
    """One held event per processing lane, so the next events have to wait for a lane."""
    for _ in range(processor.LANES):
        assert (await harness.send_webhook(fake_event("issuing_card.created"))).status_code == 200


async def test_the_event_is_acknowledged_once_stored_and_processed_right_after(harness, monkeypatch):
    release = _held_processing(monkeypatch)
    event = fake_event("issuing_card.created")
    response = await asyncio.wait_for(harness.send_webhook(event), 10)
    assert response.status_code == 200 and response.json() == {"received": True, "duplicate": False}
    [row] = await stored(harness, event["id"])
    assert row["processed_at"] is None  # committed and acknowledged; processing is held
    release.set()
    row = await harness.processed(event["id"], timeout=1.5)  # well before the sweep would look at it
    assert (row["outcome"], row["attempts"], row["last_error"]) == ("ignored", 1, None)


async def test_events_that_arrive_while_one_is_processed_are_processed_together(harness, monkeypatch):
    release = _held_processing(monkeypatch)
    await _occupy_every_lane(harness)
    others = [fake_event("issuing_card.updated") for _ in range(5)]
    assert [r.status_code for r in await asyncio.gather(*(harness.send_webhook(e) for e in others))] == [200] * 5
    release.set()
    rows = [await harness.processed(e["id"]) for e in others]
    assert {row["outcome"] for row in rows} == {"ignored"}
    assert len({row["processed_at"] for row in rows}) == 1  # now() of one transaction


async def test_one_failing_event_does_not_hold_back_the_others_of_its_batch(harness, monkeypatch):
    bad = fake_event("issuing_card.updated")
    release = _held_processing(monkeypatch, fail={bad["id"]})
    await _occupy_every_lane(harness)
    good = [fake_event("issuing_card.updated") for _ in range(2)]
    for event in (good[0], bad, good[1]):
        assert (await harness.send_webhook(event)).status_code == 200
    release.set()
    assert [(await harness.processed(e["id"]))["outcome"] for e in good] == ["ignored", "ignored"]

    async def failed_once() -> list[dict]:
        return [row for row in await stored(harness, bad["id"]) if row["attempts"] >= 1]

    [row] = await harness.wait_for(failed_once, what="the failure to be recorded")
    assert row["processed_at"] is None and row["last_error"] == "RuntimeError: handler bug"


async def test_an_event_stored_by_a_process_that_died_before_processing_it_is_processed_by_the_sweep(
    harness, monkeypatch
):
    # The hint to this process's webhook processor is lost with the process.
    monkeypatch.setattr(harness.app.state.runtime.pending_webhooks, "put", lambda row_id, event: None)
    event = fake_event("issuing_card.created")
    assert (await harness.send_webhook(event)).status_code == 200
    await asyncio.sleep(0.5)
    [row] = await stored(harness, event["id"])
    assert row["processed_at"] is None
    row = await harness.processed(event["id"], timeout=service.SWEEP_AFTER.total_seconds() + 5)
    assert (row["outcome"], row["attempts"]) == ("ignored", 1)


async def test_a_redelivery_is_acknowledged_without_being_processed_again(harness):
    event = fake_event("issuing_card.created")
    assert (await harness.send_webhook(event)).json()["duplicate"] is False
    first = await harness.processed(event["id"])
    again = await harness.send_webhook(event)
    assert again.status_code == 200 and again.json() == {"received": True, "duplicate": True}
    await asyncio.sleep(0.3)
    [row] = await stored(harness, event["id"])
    assert (row["processed_at"], row["attempts"]) == (first["processed_at"], 1)


async def test_a_failed_renewal_is_published_for_the_member_to_hear_of(harness):
    """invoice.payment_failed → obligation.payment_failed (messaging tells the member himself, at
    once); payments asks auth for nothing itself."""
    user = uuid.uuid4()
    obligation = await harness.dues(user, amount=3000)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"], card="4000000000000341")
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")
    [sub] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    async with harness.captured():
        renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub['stripe_subscription_id']}/renew")).json()
    [failed] = await harness.events_of("invoice.payment_failed", renewal["invoice"]["id"])
    assert (await harness.send_webhook(failed)).status_code == 200
    await harness.processed(failed["id"])
    [notice] = await harness.wait_published("obligation.payment_failed", obligation_id=obligation["id"])
    assert notice["user_id"] == str(user) and notice["kind"] == "membership"
    assert notice["amount_due"] == 3000 and notice["currency"] == "EUR"
    assert await harness.published("notification.requested") == []
