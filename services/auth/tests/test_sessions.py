"""Sessions: refresh rotation, reuse detection, lifetimes, logout and session management
(issue 3, item 3)."""

from __future__ import annotations

import asyncio

import jwt
from sqlalchemy import text

from .conftest import PASSWORD, bearer, login, register, signed_up


def sid_of(tokens) -> str:
    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]


async def refresh(client, token: str):
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def revoked_at_gateway(client, sid: str) -> bool:
    return await client.app.state.redis.zscore("auth:revoked_sessions", sid) is not None


async def sql(client, statement: str, **params):
    async with client.app.state.db.session() as session:
        await session.execute(text(statement), params)
        await session.commit()


async def test_refresh_rotates_both_tokens_and_keeps_the_session(client):
    _, tokens = await signed_up(client)
    response = await refresh(client, tokens["refresh_token"])
    assert response.status_code == 200
    fresh = response.json()
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert fresh["access_token"] != tokens["access_token"]
    assert sid_of(fresh) == sid_of(tokens)
    assert response.headers["cache-control"] == "no-store"
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh))).status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_session(client):
    _, tokens = await signed_up(client)
    fresh = (await refresh(client, tokens["refresh_token"])).json()
    reuse = await refresh(client, tokens["refresh_token"])
    assert reuse.status_code == 401
    # The thief's copy and the legitimate newest token are both dead now.
    assert (await refresh(client, fresh["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(fresh))).status_code == 401
    assert await revoked_at_gateway(client, sid_of(tokens))


async def test_concurrent_refreshes_with_one_token_let_exactly_one_through(client):
    _, tokens = await signed_up(client)
    responses = await asyncio.gather(*(refresh(client, tokens["refresh_token"]) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200, 401, 401, 401, 401]


async def test_unknown_refresh_token_is_refused_without_side_effects(client):
    _, tokens = await signed_up(client)
    assert (await refresh(client, "not-a-real-token")).status_code == 401
    assert (await refresh(client, tokens["refresh_token"])).status_code == 200


async def test_an_idle_session_expires(app_client):
    async with app_client(refresh_idle_ttl_seconds=600) as client:
        _, tokens = await signed_up(client)
        await sql(
            client,
            "UPDATE auth.sessions SET last_used_at = now() - interval '11 minutes' WHERE id = :sid",
            sid=sid_of(tokens),
        )
        assert (await refresh(client, tokens["refresh_token"])).status_code == 401


async def test_a_session_ends_at_its_absolute_lifetime_even_when_active(client):
    _, tokens = await signed_up(client)
    await sql(
        client, "UPDATE auth.sessions SET expires_at = now() - interval '1 second' WHERE id = :sid", sid=sid_of(tokens)
    )
    assert (await refresh(client, tokens["refresh_token"])).status_code == 401


async def test_logout_ends_this_session_only(client):
    email, first = await signed_up(client)
    second = await login(client, email)
    assert (await client.post("/api/v1/auth/logout", headers=bearer(first))).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(first))).status_code == 401
    assert (await refresh(client, first["refresh_token"])).status_code == 401
    assert await revoked_at_gateway(client, sid_of(first))
    assert (await client.get("/api/v1/auth/me", headers=bearer(second))).status_code == 200
    assert not await revoked_at_gateway(client, sid_of(second))


async def test_logout_everywhere_ends_every_session(client):
    email, first = await signed_up(client)
    second = await login(client, email)
    assert (await client.post("/api/v1/auth/logout-all", headers=bearer(first))).status_code == 204
    for tokens in (first, second):
        assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401
        assert (await refresh(client, tokens["refresh_token"])).status_code == 401
        assert await revoked_at_gateway(client, sid_of(tokens))


async def test_the_revocation_is_published_to_the_gateway_channel(client):
    _, tokens = await signed_up(client)
    pubsub = client.app.state.redis.pubsub()
    await pubsub.subscribe("auth:revocations")
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    await client.post("/api/v1/auth/logout", headers=bearer(tokens))
    message = await pubsub.get_message(ignore_subscribe_messages=True, timeout=2)
    await pubsub.aclose()
    assert message is not None and sid_of(tokens).encode() in message["data"]


async def test_sessions_are_listed_with_device_details(client):
    email = await register(client)
    phone = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers={"User-Agent": "PhoneApp/1.0"}
    )
    laptop = await login(client, email, **{"User-Agent": "Laptop Browser"})
    response = await client.get("/api/v1/auth/sessions", headers=bearer(laptop))
    assert response.status_code == 200
    sessions = response.json()
    assert {s["user_agent"] for s in sessions} == {"PhoneApp/1.0", "Laptop Browser"}
    current = [s for s in sessions if s["current"]]
    assert len(current) == 1 and current[0]["id"] == sid_of(laptop)
    assert all(s["created_at"] and s["last_used_at"] for s in sessions)
    assert sid_of(phone.json()) in {s["id"] for s in sessions}


async def test_deleting_a_session_signs_that_device_out(client):
    email, laptop = await signed_up(client)
    phone = await login(client, email)
    response = await client.delete(f"/api/v1/auth/sessions/{sid_of(phone)}", headers=bearer(laptop))
    assert response.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(phone))).status_code == 401
    assert (await refresh(client, phone["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(laptop))).status_code == 200
    listed = (await client.get("/api/v1/auth/sessions", headers=bearer(laptop))).json()
    assert [s["id"] for s in listed] == [sid_of(laptop)]


async def test_someone_elses_session_is_not_found(client):
    _, mine = await signed_up(client)
    _, theirs = await signed_up(client)
    response = await client.delete(f"/api/v1/auth/sessions/{sid_of(theirs)}", headers=bearer(mine))
    assert response.status_code == 404
    assert (await client.get("/api/v1/auth/me", headers=bearer(theirs))).status_code == 200
    bad = await client.delete("/api/v1/auth/sessions/not-a-uuid", headers=bearer(mine))
    assert bad.status_code == 422
