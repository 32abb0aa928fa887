"""A member's history, and leadership's financial overview computed in SQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime


async def pay(harness, user, obligation):
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")


async def test_history_shows_my_payments_receipts_and_subscriptions_only(harness):
    me, someone = uuid.uuid4(), uuid.uuid4()
    await pay(harness, me, await harness.dues(me, amount=1200))
    await pay(harness, me, await harness.registration(me, amount=8000))
    await pay(harness, someone, await harness.registration(someone, amount=999))
    history = (await harness.http.get("/api/v1/payments/history", headers=harness.headers(me))).json()
    assert sorted(p["amount"]["amount"] for p in history["items"]) == [1200, 8000]
    assert all(p["receipt"]["number"] and p["source"] == "stripe" for p in history["items"])
    assert [s["status"] for s in history["subscriptions"]] == ["active"]
    page = (await harness.http.get("/api/v1/payments/history?limit=1", headers=harness.headers(me))).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = (
        await harness.http.get(
            f"/api/v1/payments/history?limit=1&cursor={page['next_cursor']}", headers=harness.headers(me)
        )
    ).json()
    assert len(rest["items"]) == 1 and rest["items"][0]["id"] != page["items"][0]["id"]
    assert (await harness.http.get("/api/v1/payments/history")).status_code == 401


async def test_the_overview_adds_up_collected_outstanding_overdue_and_refunds(harness):
    support = harness.headers(uuid.uuid4(), "support")
    a, b, c, d = (uuid.uuid4() for _ in range(4))
    await pay(harness, a, await harness.registration(a, amount=10000))
    dues = await harness.dues(b, amount=2500)
    checkout = (await harness.checkout(b, dues["id"])).json()
    await harness.pay_hosted_page(checkout["url"], card="4000000000000341")
    await harness.settle_webhooks()
    [sub] = await harness.sql("SELECT stripe_subscription_id FROM payments.subscriptions")
    await harness.stripe.post(f"/_standin/subscriptions/{sub['stripe_subscription_id']}/renew")
    await harness.settle_webhooks()
    await harness.wait_status(dues["id"], "overdue")
    await harness.registration(c, amount=4000)  # pending, never paid
    cash = await harness.registration(d, amount=3000)
    await harness.http.post(
        f"/api/v1/payments/obligations/{cash['id']}/offline-payment",
        json={"amount": 3000, "method": "cash"},
        headers=support,
    )
    [card] = await harness.sql("SELECT id FROM payments.payments WHERE amount = 10000")
    await harness.http.post(
        f"/api/v1/payments/{card['id']}/refunds", json={"amount": 1000, "reason": "discount"}, headers=support
    )
    await harness.settle_webhooks()
    await harness.wait_published("refund.succeeded")

    response = await harness.http.get("/api/v1/payments/overview", headers=harness.headers(uuid.uuid4(), "leadership"))
    assert response.status_code == 200, response.text
    overview = response.json()
    month = datetime.now(UTC).strftime("%Y-%m")
    assert overview["to_month"] == month
    [this_month] = [m for m in overview["months"] if m["month"] == month]
    assert this_month == {
        "month": month,
        "currency": "EUR",
        "collected": 10000 + 2500 + 3000,
        "payments": 3,
        "refunded": 1000,
        "refunds": 1,
        "net": 14500,
    }
    assert overview["outstanding"] == [{"currency": "EUR", "amount": 2500 + 4000, "count": 2}]
    assert overview["overdue"] == [{"currency": "EUR", "amount": 2500, "count": 1}]
    assert overview["refunds"] == [{"currency": "EUR", "amount": 1000, "count": 1}]
    assert overview["refunds_in_progress"] == []


async def test_the_overview_is_for_leadership_and_admin_only_and_validates_its_range(harness):
    for role in ("member", "support", "ptm"):
        assert (
            await harness.http.get("/api/v1/payments/overview", headers=harness.headers(None, role))
        ).status_code == 403
    admin = harness.headers(None, "admin")
    assert (await harness.http.get("/api/v1/payments/overview?from=2026-01&to=2026-03", headers=admin)).json()[
        "months"
    ] == []
    for query in ("from=2026-13", "from=2026-05&to=2026-01", "from=2020-01&to=2026-01", "from=june"):
        assert (await harness.http.get(f"/api/v1/payments/overview?{query}", headers=admin)).status_code == 422, query
