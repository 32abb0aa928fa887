"""Roles, user administration and the audit log (issue 3, item 6)."""

from __future__ import annotations

import asyncio

from mcm_auth.roles.permissions import PERMISSIONS, Role, permissions_of

from .conftest import bearer, login, make_admin, new_email, running, signed_up, user_id_of


async def set_roles(client, admin, user_id, roles, reason="needed for the job"):
    return await client.put(
        f"/api/v1/users/{user_id}/roles", json={"roles": roles, "reason": reason}, headers=bearer(admin)
    )


def test_roles_are_additive_and_admin_holds_every_staff_permission():
    assert set(Role) == {Role(r) for r in ["member", "facilitator", "ptm", "support", "leadership", "admin"]}
    combined = permissions_of(["facilitator", "ptm"])
    assert PERMISSIONS[Role.FACILITATOR] | PERMISSIONS[Role.PTM] <= combined
    assert "users:roles:write" in permissions_of(["admin"])
    assert "users:roles:write" not in permissions_of(["support", "leadership"])
    assert permissions_of(["unknown-role"]) == frozenset()


async def test_members_cannot_use_admin_endpoints(client):
    _, member = await signed_up(client)
    _, other = await signed_up(client)
    other_id = await user_id_of(client, other)
    assert (await client.get("/api/v1/users", headers=bearer(member))).status_code == 403
    assert (await set_roles(client, member, other_id, ["admin"])).status_code == 403
    assert (
        await client.post(f"/api/v1/users/{other_id}/disable", json={"reason": "because"}, headers=bearer(member))
    ).status_code == 403
    assert (await client.get(f"/api/v1/users/{other_id}/audit", headers=bearer(member))).status_code == 403
    assert (await client.get("/api/v1/users")).status_code == 401


async def test_support_can_read_but_not_change(client):
    _, support = await make_admin(client, roles=("support",))
    _, other = await signed_up(client)
    other_id = await user_id_of(client, other)
    assert (await client.get("/api/v1/users", headers=bearer(support))).status_code == 200
    assert (await client.get(f"/api/v1/users/{other_id}/audit", headers=bearer(support))).status_code == 200
    assert (await set_roles(client, support, other_id, ["facilitator"])).status_code == 403


async def test_users_are_searched_by_email_and_role_with_a_cursor(client):
    _, admin = await make_admin(client)
    marker = new_email().split("@")[0]
    for n in range(3):
        email = f"{marker}-{n}@example.org"
        await client.post(
            "/api/v1/auth/register", json={"email": email, "password": "correct horse battery", "display_name": f"U{n}"}
        )
    first = await client.get("/api/v1/users", params={"email": marker, "limit": 2}, headers=bearer(admin))
    assert first.status_code == 200
    body = first.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    second = (
        await client.get(
            "/api/v1/users", params={"email": marker, "limit": 2, "cursor": body["next_cursor"]}, headers=bearer(admin)
        )
    ).json()
    emails = [u["email"] for u in body["items"] + second["items"]]
    assert sorted(emails) == [f"{marker}-{n}@example.org" for n in range(3)]
    assert second["next_cursor"] is None
    admins = (await client.get("/api/v1/users", params={"role": "admin", "limit": 100}, headers=bearer(admin))).json()
    assert all("admin" in u["roles"] for u in admins["items"]) and admins["items"]


async def test_bad_list_parameters_are_422(client):
    _, admin = await make_admin(client)
    for params in ({"role": "emperor"}, {"limit": 0}, {"limit": 101}, {"cursor": "garbage!"}):
        assert (await client.get("/api/v1/users", params=params, headers=bearer(admin))).status_code == 422, params
    like = await client.get("/api/v1/users", params={"email": "%"}, headers=bearer(admin))
    assert like.status_code == 200 and like.json()["items"] == []  # wildcards are literal


async def test_promotion_applies_at_the_next_refresh_and_is_audited(client):
    _, admin = await make_admin(client)
    _, user = await signed_up(client)
    user_id = await user_id_of(client, user)
    response = await set_roles(client, admin, user_id, ["facilitator"], reason="runs the Tuesday circle")
    assert response.status_code == 200
    assert response.json()["roles"] == ["member", "facilitator"]
    # The session survives a promotion; the new role arrives with the next access token.
    refreshed = (await client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]})).json()
    import jwt

    assert jwt.decode(refreshed["access_token"], options={"verify_signature": False})["roles"] == [
        "member",
        "facilitator",
    ]
    audit = (await client.get(f"/api/v1/users/{user_id}/audit", headers=bearer(admin))).json()["items"]
    assert audit[0]["action"] == "roles_changed"
    assert audit[0]["reason"] == "runs the Tuesday circle"
    assert audit[0]["actor_id"] == await user_id_of(client, admin)
    assert audit[0]["details"] == {"before": ["member"], "after": ["member", "facilitator"]}


async def test_demotion_revokes_every_session_at_once(client):
    _, admin = await make_admin(client)
    email, user = await make_admin(client, roles=("facilitator",))
    user_id = await user_id_of(client, user)
    assert (await set_roles(client, admin, user_id, ["member"])).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(user))).status_code == 401
    assert (await client.post("/api/v1/auth/refresh", json={"refresh_token": user["refresh_token"]})).status_code == 401
    sid = __import__("jwt").decode(user["access_token"], options={"verify_signature": False})["sid"]
    assert await client.app.state.redis.zscore("auth:revoked_sessions", sid) is not None
    fresh = await login(client, email)
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh))).json()["roles"] == ["member"]


async def test_role_changes_need_a_reason_and_known_roles(client):
    _, admin = await make_admin(client)
    _, user = await signed_up(client)
    user_id = await user_id_of(client, user)
    assert (await set_roles(client, admin, user_id, ["facilitator"], reason="")).status_code == 422
    assert (await set_roles(client, admin, user_id, ["overlord"])).status_code == 422
    missing = await client.put(f"/api/v1/users/{user_id}/roles", json={"roles": ["ptm"]}, headers=bearer(admin))
    assert missing.status_code == 422
    unknown = await set_roles(client, admin, "0b7c1d1e-0000-4000-8000-000000000000", ["ptm"])
    assert unknown.status_code == 404


async def test_disable_signs_out_and_blocks_sign_in_until_enabled(client, mail):
    _, admin = await make_admin(client)
    email, user = await signed_up(client)
    user_id = await user_id_of(client, user)
    response = await client.post(
        f"/api/v1/users/{user_id}/disable", json={"reason": "abusive messages"}, headers=bearer(admin)
    )
    assert response.status_code == 200 and response.json()["disabled"] is True
    assert (await client.get("/api/v1/auth/me", headers=bearer(user))).status_code == 401
    refused = await client.post("/api/v1/auth/login", json={"email": email, "password": "correct horse battery"})
    assert refused.status_code == 403
    await mail.wait_for_text(email, "disabled")
    assert (
        await client.post(f"/api/v1/users/{user_id}/enable", json={"reason": "appeal accepted"}, headers=bearer(admin))
    ).status_code == 200
    await login(client, email)
    actions = [
        e["action"] for e in (await client.get(f"/api/v1/users/{user_id}/audit", headers=bearer(admin))).json()["items"]
    ]
    assert actions == ["enabled", "disabled"]


async def test_admins_cannot_disable_or_demote_themselves(client):
    _, admin = await make_admin(client)
    admin_id = await user_id_of(client, admin)
    assert (
        await client.post(f"/api/v1/users/{admin_id}/disable", json={"reason": "oops"}, headers=bearer(admin))
    ).status_code == 409
    assert (await set_roles(client, admin, admin_id, ["member"])).status_code == 409


async def test_the_last_admin_cannot_be_removed_even_concurrently(fresh_creds, make_settings, tmp_path):
    async with running(make_settings(creds_database_url=fresh_creds, jwt_key_dir=tmp_path)) as client:
        _, first = await make_admin(client)
        _, second = await make_admin(client)
        first_id, second_id = await user_id_of(client, first), await user_id_of(client, second)
        # Each tries to demote the other at the same moment: at most one may succeed.
        results = await asyncio.gather(
            set_roles(client, first, second_id, ["member"]), set_roles(client, second, first_id, ["member"])
        )
        codes = sorted(r.status_code for r in results)
        assert codes in ([200, 401], [200, 409]), codes
        remaining = (
            await client.get(
                "/api/v1/users",
                params={"role": "admin"},
                headers=bearer(first if results[0].status_code == 200 else second),
            )
        ).json()
        assert len(remaining["items"]) == 1
