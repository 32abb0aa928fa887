"""Password reset by email link and signed-in password change (issue 3, item 4)."""

from __future__ import annotations

import asyncio
import re

from sqlalchemy import text

from .conftest import PASSWORD, bearer, login, new_email, register, signed_up

NEW_PASSWORD = "a brand new password"


async def reset_token(mail, email: str, count: int = 1) -> str:
    for _ in range(200):
        links = [m for m in mail.to(email) if "reset-password?token=" in m.body]
        if len(links) >= count:
            return re.search(r"token=([A-Za-z0-9_\-%]+)", links[-1].body).group(1)
        await asyncio.sleep(0.05)
    raise AssertionError("no reset mail")


async def request_reset(client, email: str):
    return await client.post("/api/v1/auth/password-reset", json={"email": email})


async def confirm(client, token: str, password: str = NEW_PASSWORD):
    return await client.post("/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": password})


async def test_reset_is_always_202_and_mails_only_real_accounts(client, mail):
    email = await register(client)
    known = await request_reset(client, email)
    unknown_email = new_email()
    unknown = await request_reset(client, unknown_email)
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    await reset_token(mail, email)
    await asyncio.sleep(0.3)
    assert mail.to(unknown_email) == []


async def test_reset_sets_the_password_revokes_sessions_and_tells_the_owner(client, mail):
    email, tokens = await signed_up(client)
    await request_reset(client, email)
    token = await reset_token(mail, email)
    assert (await confirm(client, token)).status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 401
    assert (
        await client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    ).status_code == 401
    await login(client, email, NEW_PASSWORD)
    old = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert old.status_code == 401
    await mail.wait_for_text(email, "password of your account was just changed")


async def test_a_reset_token_works_once(client, mail):
    email = await register(client)
    await request_reset(client, email)
    token = await reset_token(mail, email)
    results = await asyncio.gather(confirm(client, token), confirm(client, token, "another new password"))
    assert sorted(r.status_code for r in results) == [204, 422]


async def test_a_newer_reset_voids_the_older_one(client, mail):
    email = await register(client)
    await request_reset(client, email)
    first = await reset_token(mail, email, 1)
    await request_reset(client, email)
    second = await reset_token(mail, email, 2)
    assert first != second
    assert (await confirm(client, first)).status_code == 422
    assert (await confirm(client, second)).status_code == 204


async def test_an_expired_reset_token_is_refused(client, mail):
    email = await register(client)
    await request_reset(client, email)
    token = await reset_token(mail, email)
    async with client.app.state.db.session() as session:
        await session.execute(
            text(
                "UPDATE auth.password_resets SET expires_at = now() - interval '1 second'"
                " WHERE user_id = (SELECT id FROM auth.users WHERE email = :e)"
            ),
            {"e": email},
        )
        await session.commit()
    assert (await confirm(client, token)).status_code == 422


async def test_reset_links_expire_within_thirty_minutes(client, mail):
    email = await register(client)
    await request_reset(client, email)
    await reset_token(mail, email)
    async with client.app.state.db.session() as session:
        ttl = await session.scalar(
            text(
                "SELECT extract(epoch FROM expires_at - created_at) FROM auth.password_resets"
                " WHERE user_id = (SELECT id FROM auth.users WHERE email = :e)"
            ),
            {"e": email},
        )
        stored = await session.scalar(
            text(
                "SELECT token_hash FROM auth.password_resets"
                " WHERE user_id = (SELECT id FROM auth.users WHERE email = :e)"
            ),
            {"e": email},
        )
    assert 0 < ttl <= 1801  # created_at is the transaction start, a moment earlier
    assert stored != await reset_token(mail, email)  # only the hash is kept


async def test_reset_confirm_enforces_password_rules(client, mail):
    email = await register(client)
    await request_reset(client, email)
    token = await reset_token(mail, email)
    assert (await confirm(client, token, "short")).status_code == 422
    assert (await confirm(client, token)).status_code == 204  # the failed attempt did not use it up


async def test_reset_requests_per_account_are_limited_quietly(client, mail):
    email = await register(client)
    for _ in range(5):
        assert (await request_reset(client, email)).status_code == 202
    await reset_token(mail, email, 3)
    await asyncio.sleep(0.3)
    assert len([m for m in mail.to(email) if "reset-password" in m.body]) == 3


async def test_change_password_needs_the_current_one_and_keeps_this_session(client, mail):
    email, this = await signed_up(client)
    other = await login(client, email)
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not the password", "new_password": NEW_PASSWORD},
        headers=bearer(this),
    )
    assert wrong.status_code == 401
    changed = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}, headers=bearer(this)
    )
    assert changed.status_code == 204
    assert (await client.get("/api/v1/auth/me", headers=bearer(this))).status_code == 200
    assert (await client.get("/api/v1/auth/me", headers=bearer(other))).status_code == 401
    await login(client, email, NEW_PASSWORD)
    await mail.wait_for_text(email, "password of your account was just changed")


async def test_change_password_requires_sign_in_and_valid_new_password(client):
    _, tokens = await signed_up(client)
    anonymous = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert anonymous.status_code == 401
    weak = await client.post(
        "/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "short"}, headers=bearer(tokens)
    )
    assert weak.status_code == 422
