"""Staff acting for one member (issue 15): support's overview gathered from every service,
resending his code and starting his reset (sent to him, never to support), admins' export and
erasure on his behalf; who may do each (403 otherwise, 404 for an unknown member), the audit
entries, the limits, and partial answers when a service is down."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import text

from .conftest import PASSWORD, bearer, make_admin, signed_up, user_id_of
from .test_privacy import events_of


async def audit_actions(client, user_id: str) -> list[tuple[str, str | None, str]]:
    async with client.app.state.db.session() as session:
        rows = (
            await session.execute(
                text(
                    "SELECT action, CAST(actor_id AS text) AS actor, reason FROM auth.audit_log"
                    " WHERE subject_id = :i ORDER BY created_at"
                ),
                {"i": user_id},
            )
        ).all()
    return [(r.action, r.actor, r.reason) for r in rows]


async def member(client):
    email, tokens = await signed_up(client, name="Joe Member")
    return email, tokens, await user_id_of(client, tokens)


# -- overview ------------------------------------------------------------------------------------


async def test_support_sees_one_member_gathered_from_every_service(client, internal_services):
    _, _, user_id = await member(client)
    internal_services.parts[("circles", "overview", user_id)] = {
        "user_id": user_id,
        "memberships": [{"circle_id": "c1", "circle_name": "Tuesday Men", "status": "active"}],
        "registrations": [{"event_id": "e1", "event_title": "Retreat", "status": "confirmed"}],
    }
    internal_services.parts[("payments", "overview", user_id)] = {
        "user_id": user_id,
        "obligations": [{"id": "o1", "status": "settled"}],
        "payments": [{"id": "p1", "amount": {"amount": 2500, "currency": "EUR"}}],
    }
    _, support = await make_admin(client, roles=("support",))
    response = await client.get(f"/api/v1/users/{user_id}/overview", headers=bearer(support))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["account"]["display_name"] == "Joe Member" and body["account"]["status"] == "active"
    assert body["account"]["verification"]["email_verified"] is False
    assert body["account"]["verification"]["phone_verified"] is False
    assert body["memberships"][0]["circle_name"] == "Tuesday Men"
    assert body["registrations"][0]["event_title"] == "Retreat"
    assert body["obligations"][0]["status"] == "settled" and body["payments"][0]["id"] == "p1"
    assert body["unavailable"] == []
    [session] = body["sessions"]
    assert {"device", "created_at", "last_used_at", "revoked_at"} <= session.keys() and "ip_address" not in session
    # The call went to both services with auth's own token (the fake checks it with require_service).
    assert {(s, k) for s, k, u in internal_services.calls if u == user_id} == {
        ("circles", "overview"),
        ("payments", "overview"),
    }
    support_id = await user_id_of(client, support)
    assert ("overview.viewed", support_id, "support overview") in await audit_actions(client, user_id)


async def test_the_phone_number_itself_is_never_in_the_overview(client, sms):
    _, tokens, user_id = await member(client)
    number = "+15005550123"
    assert (await client.post("/api/v1/auth/phone", json={"phone": number}, headers=bearer(tokens))).status_code < 300
    _, support = await make_admin(client, roles=("support",))
    response = await client.get(f"/api/v1/users/{user_id}/overview", headers=bearer(support))
    assert number not in response.text and "5550123" not in response.text


async def test_a_service_that_does_not_answer_leaves_a_marked_partial_overview(client, internal_services):
    _, _, user_id = await member(client)
    internal_services.parts[("circles", "overview", user_id)] = {"memberships": [], "registrations": []}
    internal_services.down.add("payments")
    _, admin = await make_admin(client)
    response = await client.get(f"/api/v1/users/{user_id}/overview", headers=bearer(admin))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["unavailable"] == ["payments"]
    assert body["obligations"] is None and body["payments"] is None  # unknown, not "none"
    assert body["memberships"] == [] and body["account"]["id"] == user_id


async def test_overview_is_for_support_and_admin_only(client):
    _, _, user_id = await member(client)
    for roles in (("member",), ("facilitator",), ("ptm",), ("leadership",)):
        _, tokens = await make_admin(client, roles=roles)
        response = await client.get(f"/api/v1/users/{user_id}/overview", headers=bearer(tokens))
        assert response.status_code == 403, roles
    assert (await client.get(f"/api/v1/users/{user_id}/overview")).status_code == 401
    _, support = await make_admin(client, roles=("support",))
    unknown = await client.get(f"/api/v1/users/{uuid.uuid4()}/overview", headers=bearer(support))
    assert unknown.status_code == 404


# -- support actions -----------------------------------------------------------------------------


async def test_support_resends_his_code_to_him(client, mail):
    email, _, user_id = await member(client)
    await mail.wait_for(email)  # the code sent at sign-up
    _, support = await make_admin(client, roles=("support",))
    support_email = (await client.get("/api/v1/auth/me", headers=bearer(support))).json()["email"]
    await mail.wait_for(support_email)  # his own sign-up code
    response = await client.post(f"/api/v1/users/{user_id}/verification/resend", headers=bearer(support))
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "sent"}
    assert len(await mail.wait_for(email, count=2)) == 2
    assert len(mail.to(support_email)) == 1
    assert ("verification.resent", await user_id_of(client, support), "support: resend code") in await audit_actions(
        client, user_id
    )
    # His own limits apply: an immediate second resend is refused.
    again = await client.post(f"/api/v1/users/{user_id}/verification/resend", headers=bearer(support))
    assert again.status_code == 429


async def test_support_starts_his_password_reset_and_never_sees_the_link(client, mail):
    email, _, user_id = await member(client)
    _, support = await make_admin(client, roles=("support",))
    support_email = (await client.get("/api/v1/auth/me", headers=bearer(support))).json()["email"]
    response = await client.post(f"/api/v1/users/{user_id}/password-reset", headers=bearer(support))
    assert response.status_code == 202, response.text
    assert response.json() == {"status": "sent"} and "token" not in response.text
    reset = await mail.wait_for_text(email, "reset-password?token=")
    token = re.search(r"token=([A-Za-z0-9_\-%]+)", reset.body).group(1)
    assert token not in response.text
    assert not [m for m in mail.to(support_email) if "reset-password" in m.body]
    assert ("password_reset.started", await user_id_of(client, support), "support: reset link") in await audit_actions(
        client, user_id
    )


async def test_support_actions_are_for_support_and_admin_only(client):
    _, _, user_id = await member(client)
    for path in (f"/api/v1/users/{user_id}/verification/resend", f"/api/v1/users/{user_id}/password-reset"):
        for roles in (("member",), ("facilitator",), ("ptm",), ("leadership",)):
            _, tokens = await make_admin(client, roles=roles)
            assert (await client.post(path, headers=bearer(tokens))).status_code == 403, (path, roles)
        _, support = await make_admin(client, roles=("support",))
        unknown = path.replace(user_id, str(uuid.uuid4()))
        assert (await client.post(unknown, headers=bearer(support))).status_code == 404


async def test_a_staff_member_is_limited_across_members(client, monkeypatch):
    from mcm_auth.people import service

    monkeypatch.setattr(service, "ASSISTS_PER_STAFF_PER_HOUR", 2)
    _, support = await make_admin(client, roles=("support",))
    statuses = []
    for _ in range(3):
        _, _, user_id = await member(client)
        statuses.append(
            (await client.post(f"/api/v1/users/{user_id}/password-reset", headers=bearer(support))).status_code
        )
    assert statuses == [202, 202, 429]


# -- export and erasure on his behalf --------------------------------------------------------------


async def test_my_export_holds_every_services_part(client, internal_services):
    email, tokens, user_id = await member(client)
    internal_services.parts[("circles", "export", user_id)] = {"registrations": [{"answers": {"why": "growth"}}]}
    internal_services.parts[("payments", "export", user_id)] = {"payments": [{"note": "cash at the door"}]}
    response = await client.get("/api/v1/auth/me/export", headers=bearer(tokens))
    assert response.status_code == 200, response.text
    data = response.json()
    assert data["account"]["email"] == email
    assert data["circles"]["registrations"][0]["answers"] == {"why": "growth"}
    assert data["payments"]["payments"][0]["note"] == "cash at the door"


async def test_an_export_missing_a_service_is_refused_naming_it(client, internal_services):
    _, tokens, _ = await member(client)
    internal_services.down.add("circles")
    response = await client.get("/api/v1/auth/me/export", headers=bearer(tokens))
    assert response.status_code == 503
    assert "circles" in response.json()["detail"] and response.json()["service"] == "circles"


async def test_an_admin_exports_a_members_data_with_a_reason(client, internal_services):
    email, _, user_id = await member(client)
    internal_services.parts[("payments", "export", user_id)] = {"payments": [{"note": "x"}]}
    _, admin = await make_admin(client)
    path = f"/api/v1/users/{user_id}/export"
    assert (await client.get(path, headers=bearer(admin))).status_code == 422  # a reason is required
    response = await client.get(path, params={"reason": "his request #42"}, headers=bearer(admin))
    assert response.status_code == 200, response.text
    assert response.json()["account"]["email"] == email and response.json()["payments"]["payments"]
    assert ("account.exported", await user_id_of(client, admin), "his request #42") in await audit_actions(
        client, user_id
    )


async def test_export_and_erasure_on_behalf_are_for_admins_only(client):
    _, _, user_id = await member(client)
    for roles in (("member",), ("support",), ("leadership",), ("ptm",), ("facilitator",)):
        _, tokens = await make_admin(client, roles=roles)
        export = await client.get(f"/api/v1/users/{user_id}/export", params={"reason": "asked"}, headers=bearer(tokens))
        assert export.status_code == 403, roles
        erase = await client.post(f"/api/v1/users/{user_id}/erase", json={"reason": "asked"}, headers=bearer(tokens))
        assert erase.status_code == 403, roles
    _, admin = await make_admin(client)
    stranger = uuid.uuid4()
    assert (
        await client.get(f"/api/v1/users/{stranger}/export", params={"reason": "asked"}, headers=bearer(admin))
    ).status_code == 404
    assert (
        await client.post(f"/api/v1/users/{stranger}/erase", json={"reason": "asked"}, headers=bearer(admin))
    ).status_code == 404


async def test_an_admin_erases_a_member_on_his_request(client):
    email, tokens, user_id = await member(client)
    _, admin = await make_admin(client)
    admin_id = await user_id_of(client, admin)
    path = f"/api/v1/users/{user_id}/erase"
    assert (await client.post(path, json={}, headers=bearer(admin))).status_code == 422  # reason required
    response = await client.post(path, json={"reason": "his written request of 3 May"}, headers=bearer(admin))
    assert response.status_code == 204, response.text
    assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401
    assert (await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 401
    async with client.app.state.db.session() as session:
        row = (
            await session.execute(text("SELECT email, erased_at FROM auth.users WHERE id = :i"), {"i": user_id})
        ).one()
    assert row.email is None and row.erased_at is not None
    [event] = await events_of(client, "user.erased", user_id)  # every service hears of it
    assert set(event["payload"]) == {"user_id", "erased_at"}
    assert ("account.erased", admin_id, "his written request of 3 May") in await audit_actions(client, user_id)
    again = await client.post(path, json={"reason": "again"}, headers=bearer(admin))
    assert again.status_code == 409
    own = await client.post(f"/api/v1/users/{admin_id}/erase", json={"reason": "my own"}, headers=bearer(admin))
    assert own.status_code in (403, 409)
