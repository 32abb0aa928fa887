"""Registration rules (issue 3, item 1)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from .conftest import PASSWORD, login, new_email, register


async def count_users(client, email: str) -> int:
    async with client.app.state.db.session() as session:
        return await session.scalar(text("SELECT count(*) FROM auth.users WHERE email = :e"), {"e": email})


async def test_email_is_trimmed_lowercased_and_nfkc_normalised(client):
    local = new_email().split("@")[0]
    # Fullwidth letters fold to ASCII under NFKC.
    await register(client, email=f"  {local.upper()}@ＥＸＡＭＰＬＥ.org ")  # noqa: RUF001 (fullwidth on purpose)
    assert await count_users(client, f"{local}@example.org") == 1
    await login(client, f"{local}@example.org")
    await login(client, f"{local.upper()}@Example.ORG")


async def test_registering_an_existing_email_answers_the_same_and_mails_the_owner(client, mail):
    email = new_email()
    first = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Sam"}
    )
    second = await client.post(
        "/api/v1/auth/register", json={"email": email.upper(), "password": "another password", "display_name": "Eve"}
    )
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert await count_users(client, email) == 1
    await mail.wait_for_text(email, "already has an account")
    await login(client, email)  # the original password still works
    failed = await client.post("/api/v1/auth/login", json={"email": email, "password": "another password"})
    assert failed.status_code == 401


async def test_concurrent_sign_ups_with_one_email_create_one_account(client):
    email = new_email()
    payload = {"email": email, "password": PASSWORD, "display_name": "Sam"}
    responses = await asyncio.gather(*(client.post("/api/v1/auth/register", json=payload) for _ in range(6)))
    assert {r.status_code for r in responses} == {201}
    assert await count_users(client, email) == 1


@pytest.mark.parametrize("password", ["short", "123456789", " " * 12, "x" * 257])
async def test_weak_or_oversized_passwords_are_refused(client, password):
    email = new_email()
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": password, "display_name": "Sam"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "password"
    assert await count_users(client, email) == 0


async def test_long_passwords_are_accepted(client):
    password = "a long passphrase " * 14  # 252 characters
    email = await register(client, password=password)
    await login(client, email, password)


@pytest.mark.parametrize("name", ["", "   ", "line\nbreak", "tab\there", "bell\x07", "x" * 65, "para\u2029graph"])
async def test_bad_display_names_are_refused(client, name):
    response = await client.post(
        "/api/v1/auth/register", json={"email": new_email(), "password": PASSWORD, "display_name": name}
    )
    assert response.status_code == 422


@pytest.mark.parametrize(
    "field",
    [
        {"roles": ["admin"]},
        {"verified": True},
        {"id": "0b7c1d1e-0000-4000-8000-000000000000"},
        {"email_verified": True},
    ],
)
async def test_fields_a_client_may_not_set_are_refused(client, field):
    email = new_email()
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Sam", **field}
    )
    assert response.status_code == 422
    assert await count_users(client, email) == 0


@pytest.mark.parametrize("email", ["not-an-email", "a@b", "@example.org", "x" * 250 + "@example.org"])
async def test_invalid_emails_are_refused(client, email):
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD, "display_name": "Sam"}
    )
    assert response.status_code == 422


async def test_malformed_json_is_a_400_problem(client):
    response = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_registration_is_rate_limited_per_address(app_client):
    async with app_client(register_max_per_ip=3) as client:
        headers = {"X-Forwarded-For": "10.99.0.1"}
        for _ in range(3):
            payload = {"email": new_email(), "password": PASSWORD, "display_name": "Sam"}
            assert (await client.post("/api/v1/auth/register", json=payload, headers=headers)).status_code == 201
        refused = await client.post(
            "/api/v1/auth/register",
            json={"email": new_email(), "password": PASSWORD, "display_name": "Sam"},
            headers=headers,
        )
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
