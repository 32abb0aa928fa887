"""Manual intervention by support and admin: every action audited and reflected in the status."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

ACTIONS = ("offline-payment", "waive", "pause", "resume", "notes", "reminders", "resolve")


async def paid_dues(harness, user):
    obligation = await harness.dues(user, amount=2000)
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")
    [row] = await harness.sql(
        "SELECT stripe_subscription_id FROM payments.subscriptions WHERE obligation_id = $1",
        uuid.UUID(obligation["id"]),
    )
    return obligation, row["stripe_subscription_id"]


def staff(harness, role="support"):
    return harness.headers(uuid.uuid4(), role)


async def test_members_leadership_and_facilitators_cannot_intervene(harness):
    user = uuid.uuid4()
    obligation = await harness.dues(user)
    for role in ("member", "facilitator", "ptm", "leadership"):
        headers = harness.headers(user, role)
        assert (await harness.http.get("/api/v1/payments/interventions", headers=headers)).status_code == 403
        for action in ACTIONS:
            response = await harness.http.post(
                f"/api/v1/payments/obligations/{obligation['id']}/{action}", json={}, headers=headers
            )
            assert response.status_code == 403, (role, action)
    assert (
        await harness.http.get("/api/v1/payments/interventions", headers=staff(harness, "admin"))
    ).status_code == 200
    assert (await harness.obligation(obligation["id"], user))["status"] == "pending"


async def test_waive_stops_collection_and_is_published(harness):
    user = uuid.uuid4()
    obligation, sub = await paid_dues(harness, user)
    response = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/waive",
        json={"reason": "Hardship, agreed by the circle"},
        headers=staff(harness),
    )
    assert (
        response.status_code == 200
        and response.json()["status"] == "waived"
        and response.json()["amount_due"]["amount"] == 0
    )
    [event] = await harness.wait_published("obligation.waived", obligation_id=obligation["id"])
    assert event["reason"] == "Hardship, agreed by the circle" and event["membership_id"] == obligation["membership_id"]

    async def canceled():
        return (await harness.stripe_object(sub))["status"] == "canceled"

    await harness.wait_for(canceled, what="the subscription to be canceled at Stripe")
    assert (await harness.obligation(obligation["id"], user))["status"] == "waived"
    again = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/waive", json={"reason": "x"}, headers=staff(harness)
    )
    assert again.status_code == 409


async def test_pause_voids_invoices_until_resumed(harness):
    user = uuid.uuid4()
    obligation, sub = await paid_dues(harness, user)
    until = datetime.now(UTC) + timedelta(days=60)
    response = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/pause",
        json={"until": until.isoformat(), "reason": "Travelling for two months"},
        headers=staff(harness),
    )
    assert response.status_code == 200 and response.json()["status"] == "paused"
    [event] = await harness.wait_published("obligation.paused", obligation_id=obligation["id"])
    assert event["reason"] == "Travelling for two months" and event["until"].startswith(until.date().isoformat())

    async def paused_at_stripe():
        return (await harness.stripe_object(sub))["pause_collection"]

    pause = await harness.wait_for(paused_at_stripe, what="pause_collection at Stripe")
    assert pause["behavior"] == "void" and pause["resumes_at"] == int(until.timestamp())
    renewal = (await harness.stripe.post(f"/_standin/subscriptions/{sub}/renew")).json()
    assert renewal["invoice"]["status"] == "void"
    await harness.settle_webhooks()
    current = await harness.obligation(obligation["id"], user)
    assert current["status"] == "paused" and current["amount_paid"]["amount"] == 2000
    assert (await harness.checkout(user, obligation["id"])).status_code == 409

    resumed = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/resume", json={"reason": "Back home"}, headers=staff(harness)
    )
    assert (
        resumed.status_code == 200 and resumed.json()["status"] == "settled" and resumed.json()["paused_until"] is None
    )

    async def collecting_again():
        return (await harness.stripe_object(sub))["pause_collection"] is None

    await harness.wait_for(collecting_again, what="collection to resume at Stripe")
    again = await harness.http.post(f"/api/v1/payments/obligations/{obligation['id']}/resume", headers=staff(harness))
    assert again.status_code == 409


async def test_a_pause_ends_by_itself_when_its_date_passes(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=1000)
    until = datetime.now(UTC) + timedelta(seconds=1)
    response = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/pause",
        json={"until": until.isoformat(), "reason": "Short break"},
        headers=staff(harness),
    )
    assert response.status_code == 200
    await harness.wait_status(obligation["id"], "pending", timeout=15)
    audit = (
        await harness.http.get(f"/api/v1/payments/obligations/{obligation['id']}/audit", headers=staff(harness))
    ).json()
    assert ("resume", "system", "paused", "pending") in [
        (e["action"], e["actor"], e["status_before"], e["status_after"]) for e in audit["items"]
    ]


async def test_pause_dates_are_validated(harness):
    obligation = await harness.dues(uuid.uuid4())
    for until in (
        (datetime.now(UTC) - timedelta(days=1)).isoformat(),
        (datetime.now(UTC) + timedelta(days=400)).isoformat(),
        "2030-01-01T00:00:00",
    ):
        response = await harness.http.post(
            f"/api/v1/payments/obligations/{obligation['id']}/pause",
            json={"until": until, "reason": "x"},
            headers=staff(harness),
        )
        assert response.status_code == 422, until
    assert (await harness.obligation(obligation["id"]))["status"] == "pending"


async def test_notes_and_reminders_are_audited_and_reminders_are_rate_limited(harness):
    user = uuid.uuid4()
    support = uuid.uuid4()
    obligation = await harness.dues(user, amount=1500)
    headers = harness.headers(support, "support")
    note = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/notes",
        json={"text": "Called him, will pay Friday"},
        headers=headers,
    )
    assert (
        note.status_code == 201
        and note.json()["actor"] == f"user:{support}"
        and note.json()["reason"] == "Called him, will pay Friday"
    )
    reminder = await harness.http.post(f"/api/v1/payments/obligations/{obligation['id']}/reminders", headers=headers)
    assert reminder.status_code == 202 and reminder.json()["recipient_user_id"] == str(user)
    [event] = await harness.wait_published("notification.requested")
    assert event["recipient_user_ids"] == [str(user)] and event["template"] == "payment_reminder"
    assert event["data"]["amount_due"] == 1500 and event["data"]["obligation_id"] == obligation["id"]
    assert "email" not in str(event)
    again = await harness.http.post(f"/api/v1/payments/obligations/{obligation['id']}/reminders", headers=headers)
    assert again.status_code == 429 and int(again.headers["retry-after"]) > 0
    audit = (await harness.http.get(f"/api/v1/payments/obligations/{obligation['id']}/audit", headers=headers)).json()
    assert [e["action"] for e in audit["items"]] == ["created", "note", "reminder_sent"]
    assert all(e["created_at"] for e in audit["items"])


async def test_offline_payment_rules(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=6000)
    url = f"/api/v1/payments/obligations/{obligation['id']}/offline-payment"
    too_much = await harness.http.post(url, json={"amount": 6001, "method": "cash"}, headers=staff(harness))
    assert too_much.status_code == 422
    bad_method = await harness.http.post(url, json={"amount": 100, "method": "bitcoin"}, headers=staff(harness))
    assert bad_method.status_code == 422
    headers = harness.headers(uuid.uuid4(), "admin", **{"Idempotency-Key": "cheque-7"})
    part = await harness.http.post(
        url, json={"amount": 2000, "method": "cheque", "note": "cheque 0042"}, headers=headers
    )
    twice = await harness.http.post(
        url, json={"amount": 2000, "method": "cheque", "note": "cheque 0042"}, headers=headers
    )
    assert (
        part.status_code == twice.status_code == 201 and part.json()["payment"]["id"] == twice.json()["payment"]["id"]
    )
    assert (
        part.json()["obligation"]["status"] == "pending" and part.json()["obligation"]["amount_due"]["amount"] == 4000
    )
    reused = await harness.http.post(url, json={"amount": 100, "method": "cash"}, headers=headers)
    assert reused.status_code == 422
    rest = await harness.http.post(url, json={"amount": 4000, "method": "bank_transfer"}, headers=staff(harness))
    assert rest.json()["obligation"]["status"] == "settled"
    await harness.wait_published("obligation.settled", obligation_id=obligation["id"])
    nothing_due = await harness.http.post(url, json={"amount": 1, "method": "cash"}, headers=staff(harness))
    assert nothing_due.status_code == 409
    history = (await harness.http.get("/api/v1/payments/history", headers=harness.headers(user))).json()
    assert sorted((p["method"], p["amount"]["amount"]) for p in history["items"]) == [
        ("bank_transfer", 4000),
        ("cheque", 2000),
    ]


async def test_concurrent_offline_payments_never_exceed_what_is_due(harness):
    obligation = await harness.registration(uuid.uuid4(), amount=3000)
    url = f"/api/v1/payments/obligations/{obligation['id']}/offline-payment"
    responses = await asyncio.gather(
        *(harness.http.post(url, json={"amount": 1000, "method": "cash"}, headers=staff(harness)) for _ in range(6))
    )
    assert sorted(r.status_code for r in responses) == [201, 201, 201, 409, 409, 409]
    [total] = await harness.sql("SELECT sum(amount) AS paid FROM payments.payments")
    assert total["paid"] == 3000


async def test_the_queue_lists_flagged_obligations_and_resolving_clears_them(harness):
    user = uuid.uuid4()
    obligation = await harness.registration(user, amount=1000)
    await harness.execute(
        f"UPDATE payments.obligations SET attention = 'Check the bank statement' WHERE id = '{obligation['id']}'"  # noqa: S608
    )
    queue = (await harness.http.get("/api/v1/payments/interventions", headers=staff(harness))).json()
    assert [(i["obligation"]["id"], i["attention"]) for i in queue["items"]] == [
        (obligation["id"], "Check the bank statement")
    ]
    resolved = await harness.http.post(
        f"/api/v1/payments/obligations/{obligation['id']}/resolve", json={"note": "Found it"}, headers=staff(harness)
    )
    assert resolved.status_code == 200
    assert (await harness.http.get("/api/v1/payments/interventions", headers=staff(harness))).json()["items"] == []
