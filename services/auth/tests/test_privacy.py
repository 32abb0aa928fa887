"""Events published, profile changes, data export and account erasure (issue 3, item 8)."""

from __future__ import annotations

import asyncio
import json
import time

from sqlalchemy import text

from mcm_shared.events import stream_for

from .conftest import PASSWORD, bearer, make_admin, signed_up, user_id_of, verified_user


async def events_of(client, event_type: str, user_id: str, within: float = 10.0) -> list[dict]:
    """Envelopes of `event_type` about `user_id` that the relay put on auth's stream."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        entries = await client.app.state.redis.xrange(stream_for("auth"))
        found = []
        for _, fields in entries:
            envelope = json.loads(fields[b"envelope"])
            if envelope["type"] == event_type and envelope["payload"].get("user_id") == user_id:
                found.append(envelope)
        if found:
            return found
        await asyncio.sleep(0.1)
    return []


async def test_registration_publishes_user_registered_without_contact_details(client):
    email, tokens = await signed_up(client, name="Jon")
    user_id = await user_id_of(client, tokens)
    [event] = await events_of(client, "user.registered", user_id)
    assert event["payload"] == {
        "user_id": user_id,
        "display_name": "Jon",
        "email_verified": False,
        "phone_verified": False,
        "roles": ["member"],
        "active": True,
    }
    assert email not in json.dumps(event)


async def test_verifying_the_email_publishes_user_updated(client, mail):
    email, tokens = await verified_user(client, mail)
    user_id = await user_id_of(client, tokens)
    events = await events_of(client, "user.updated", user_id)
    assert events and events[-1]["payload"]["email_verified"] is True
    assert email not in json.dumps(events)


async def test_renaming_publishes_user_updated(client):
    _, tokens = await signed_up(client)
    response = await client.patch("/api/v1/auth/me", json={"display_name": "  New Name "}, headers=bearer(tokens))
    assert response.status_code == 200 and response.json()["display_name"] == "New Name"
    [event] = await events_of(client, "user.updated", response.json()["id"])
    assert event["payload"]["display_name"] == "New Name"
    assert (
        await client.patch("/api/v1/auth/me", json={"display_name": "x\ny"}, headers=bearer(tokens))
    ).status_code == 422
    assert (await client.patch("/api/v1/auth/me", json={"roles": ["admin"]}, headers=bearer(tokens))).status_code == 422


async def test_role_changes_publish_user_updated(client):
    _, admin = await make_admin(client)
    _, tokens = await signed_up(client)
    user_id = await user_id_of(client, tokens)
    await client.put(
        f"/api/v1/users/{user_id}/roles", json={"roles": ["ptm"], "reason": "runs events"}, headers=bearer(admin)
    )
    [event] = await events_of(client, "user.updated", user_id)
    assert event["payload"]["roles"] == ["member", "ptm"]


async def test_export_contains_my_account_sessions_and_messages(client, mail):
    email, tokens = await verified_user(client, mail)
    response = await client.get("/api/v1/auth/me/export", headers=bearer(tokens))
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["account"]["email"] == email and data["account"]["email_verified_at"]
    assert len(data["sessions"]) == 1
    assert any(m["template"] == "verify_email" for m in data["messages"])
    assert {p["topic"] for p in data["notification_preferences"]} == {"circles", "events", "payments", "general"}
    assert "password_hash" not in json.dumps(data) and "$2b$" not in json.dumps(data)


async def test_deleting_my_account_removes_credentials_and_contact_and_tells_others(client, mail):
    email, tokens = await verified_user(client, mail)
    user_id = await user_id_of(client, tokens)
    wrong = await client.request(
        "DELETE", "/api/v1/auth/me", json={"password": "not my password"}, headers=bearer(tokens)
    )
    assert wrong.status_code == 401
    response = await client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD}, headers=bearer(tokens))
    assert response.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    assert (await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 401
    async with client.app.state.db.session() as session:
        row = (
            await session.execute(
                text("SELECT email, phone, password_hash, display_name, erased_at FROM auth.users WHERE id = :i"),
                {"i": user_id},
            )
        ).one()
        leftovers = await session.scalar(
            text("SELECT count(*) FROM auth.outbound_messages WHERE recipient = :e"), {"e": email}
        )
        codes = await session.scalar(
            text("SELECT count(*) FROM auth.verification_codes WHERE user_id = :i"), {"i": user_id}
        )
    assert row.email is None and row.phone is None and row.password_hash is None
    assert row.display_name == "Deleted member" and row.erased_at is not None
    assert leftovers == 0 and codes == 0
    [event] = await events_of(client, "user.erased", user_id)
    assert set(event["payload"]) == {"user_id", "erased_at"}
    # The address is free again for a new account.
    again = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Back"}
    )
    assert again.status_code == 201
    async with client.app.state.db.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM auth.users WHERE email = :e"), {"e": email}) == 1


async def test_delete_requires_sign_in(client):
    assert (await client.request("DELETE", "/api/v1/auth/me", json={"password": PASSWORD})).status_code == 401
