"""One person's money for auth (`/internal/v1/users/{id}/overview|export`), staff listing a
member's obligations, and erasure: personal fields pseudonymised, the ledger untouched."""

from __future__ import annotations

import json
import uuid


async def pay(harness, user, obligation):
    checkout = (await harness.checkout(user, obligation["id"])).json()
    await harness.pay_hosted_page(checkout["url"])
    await harness.settle_webhooks()
    await harness.wait_status(obligation["id"], "settled")


def service(harness, name: str = "auth") -> dict[str, str]:
    return harness.issuer.headers(f"svc:{name}", aud="internal", roles=[])


async def member_with_money(harness) -> tuple[uuid.UUID, dict, dict]:
    member = uuid.uuid4()
    support = harness.headers(uuid.uuid4(), "support")
    card = await harness.registration(member, amount=8000)
    await pay(harness, member, card)
    cash = await harness.registration(member, amount=3000)
    response = await harness.http.post(
        f"/api/v1/payments/obligations/{cash['id']}/offline-payment",
        json={"amount": 3000, "method": "cash", "note": "paid by his wife Anna at the door"},
        headers=support,
    )
    assert response.status_code == 201, response.text
    [paid] = await harness.sql("SELECT id FROM payments.payments WHERE amount = 8000 AND user_id = $1", member)
    response = await harness.http.post(
        f"/api/v1/payments/{paid['id']}/refunds",
        json={"amount": 1000, "reason": "hardship: lost his job at Acme"},
        headers=support,
    )
    assert response.status_code in (200, 201, 202), response.text
    await harness.settle_webhooks()
    return member, card, cash


async def test_auth_sees_his_obligations_and_payments(harness):
    member, card, cash = await member_with_money(harness)
    response = await harness.http.get(f"/internal/v1/users/{member}/overview", headers=service(harness))
    assert response.status_code == 200, response.text
    body = response.json()
    assert {o["id"] for o in body["obligations"]} == {card["id"], cash["id"]}
    assert sorted(p["amount"]["amount"] for p in body["payments"]) == [3000, 8000]
    assert "Anna" not in response.text  # staff notes are not part of the overview


async def test_only_auths_service_token_opens_the_internal_routes(harness):
    member = uuid.uuid4()
    for path in (f"/internal/v1/users/{member}/overview", f"/internal/v1/users/{member}/export"):
        assert (await harness.http.get(path)).status_code == 401
        assert (await harness.http.get(path, headers=harness.headers(member, "admin"))).status_code == 403
        assert (await harness.http.get(path, headers=service(harness, "circles"))).status_code == 403
        assert (await harness.http.get(path, headers=service(harness))).status_code == 200
    # ...and auth's internal token is no user token on the public routes.
    assert (await harness.http.get("/api/v1/payments/obligations", headers=service(harness))).status_code == 401


async def test_support_and_admin_list_one_members_obligations_others_only_their_own(harness):
    member = uuid.uuid4()
    dues = await harness.dues(member)
    other = await harness.dues(uuid.uuid4())
    path = f"/api/v1/payments/obligations?user_id={member}"
    for role in ("support", "admin"):
        response = await harness.http.get(path, headers=harness.headers(uuid.uuid4(), role))
        assert response.status_code == 200, response.text
        assert [o["id"] for o in response.json()["items"]] == [dues["id"]]
    for role in ("member", "leadership", "facilitator", "ptm"):
        response = await harness.http.get(path, headers=harness.headers(uuid.uuid4(), role))
        assert response.status_code == 403, role
    own = await harness.http.get(path, headers=harness.headers(member))
    assert [o["id"] for o in own.json()["items"]] == [dues["id"]]
    mine = await harness.http.get("/api/v1/payments/obligations", headers=harness.headers(member))
    assert other["id"] not in mine.text and [o["id"] for o in mine.json()["items"]] == [dues["id"]]


async def test_erasure_pseudonymises_his_fields_and_keeps_the_ledger_balanced(harness):
    member, _, _ = await member_with_money(harness)
    [customer] = await harness.sql("SELECT stripe_customer_id FROM payments.customers WHERE user_id = $1", member)
    stripe_event = {
        "id": f"evt_{uuid.uuid4().hex}",
        "type": "customer.updated",
        "data": {
            "object": {
                "id": customer["stripe_customer_id"],
                "email": "joe@example.org",
                "name": "Joe Privacy",
                "address": {"line1": "1 Main St"},
            }
        },
    }
    await harness.sql(
        "INSERT INTO payments.webhook_events (id, stripe_event_id, type, event_created, livemode, object_id, payload,"
        " processed_at, outcome) VALUES ($1, $2, 'customer.updated', now(), false, $3, $4::jsonb, now(), 'ignored')",
        uuid.uuid4(),
        stripe_event["id"],
        customer["stripe_customer_id"],
        json.dumps(stripe_event),
    )
    before = await harness.sql(
        "SELECT sum(amount) AS paid, sum(amount_refunded) AS refunded FROM payments.payments WHERE user_id = $1", member
    )
    export = await harness.http.get(f"/internal/v1/users/{member}/export", headers=service(harness))
    assert "Anna" in export.text and "Acme" in export.text

    envelope = await harness.from_auth("user.erased", {"user_id": str(member)})

    async def consumed():
        return await harness.sql("SELECT 1 FROM payments.inbox WHERE event_id = $1", envelope.id)

    await harness.wait_for(consumed, what="user.erased consumed")
    after = await harness.http.get(f"/internal/v1/users/{member}/export", headers=service(harness))
    assert "Anna" not in after.text and "Acme" not in after.text
    body = after.json()
    assert body["checkout_sessions"] and all(s["url"] == "" for s in body["checkout_sessions"])
    assert all(p["note"] is None and p["receipt_url"] is None for p in body["payments"])
    assert [r["reason"] for r in body["refunds"]] == ["(erased)"]
    # Amounts untouched: the ledger still balances.
    assert (
        await harness.sql(
            "SELECT sum(amount) AS paid, sum(amount_refunded) AS refunded FROM payments.payments WHERE user_id = $1",
            member,
        )
        == before
    )
    assert sorted(p["amount"]["amount"] for p in body["payments"]) == [3000, 8000]
    [stored] = await harness.sql(
        "SELECT payload FROM payments.webhook_events WHERE stripe_event_id = $1", stripe_event["id"]
    )
    payload = json.loads(stored["payload"])
    assert "joe@example.org" not in stored["payload"] and "Joe Privacy" not in stored["payload"]
    assert payload["data"]["object"]["id"] == customer["stripe_customer_id"]  # kept: see docs/privacy.md
