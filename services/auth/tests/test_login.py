"""Sign-in limits and enumeration resistance (issue 3, item 2); the per-(account, address) rule
and the step-up are in test_login_throttle.py."""

from __future__ import annotations

import pytest

from mcm_auth.config import Settings

from .conftest import PASSWORD, login, new_email, new_ip, register


def problem_without_instance(response) -> dict:
    return {key: value for key, value in response.json().items() if key != "instance"}


async def test_unknown_email_and_wrong_password_get_the_same_answer(client):
    email = await register(client)
    ip = {"X-Forwarded-For": new_ip()}
    wrong = await client.post("/api/v1/auth/login", json={"email": email, "password": "not my password"}, headers=ip)
    unknown = await client.post(
        "/api/v1/auth/login", json={"email": new_email(), "password": "not my password"}, headers=ip
    )
    assert wrong.status_code == unknown.status_code == 401
    assert problem_without_instance(wrong) == problem_without_instance(unknown)


async def test_unknown_email_still_spends_a_password_check(client):
    hasher = client.app.state.runtime.hasher
    calls = []
    original = hasher._verify_sync

    def spy(password, hashed):
        calls.append(hashed)
        return original(password, hashed)

    hasher._verify_sync = spy
    response = await client.post("/api/v1/auth/login", json={"email": new_email(), "password": "whatever it is"})
    assert response.status_code == 401
    assert len(calls) == 1 and calls[0].startswith("$2")


async def test_unknown_emails_are_refused_to_a_guessing_address_the_same_way(app_client):
    async with app_client(login_max_failures_per_client=2) as client:
        email = new_email()
        for _ in range(2):
            assert (
                await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
            ).status_code == 401
        assert (
            await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
        ).status_code == 429


async def test_a_successful_sign_in_clears_the_failure_count(app_client):
    async with app_client(login_max_failures_per_client=3) as client:
        email = await register(client)
        for _ in range(2):
            await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
        await login(client, email)
        for _ in range(2):
            assert (
                await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password"})
            ).status_code == 401
        await login(client, email)


async def test_too_many_attempts_from_one_address_are_refused(app_client):
    async with app_client(login_max_attempts_per_ip=4) as client:
        email = await register(client)
        ip = {"X-Forwarded-For": new_ip()}
        for _ in range(4):
            await client.post(
                "/api/v1/auth/login", json={"email": new_email(), "password": "wrong password"}, headers=ip
            )
        refused = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers=ip)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        # Another address is not affected.
        await login(client, email, **{"X-Forwarded-For": new_ip()})


async def test_forwarded_for_is_ignored_from_untrusted_peers(app_client):
    async with app_client(login_max_attempts_per_ip=2, forwarded_allow_ips="192.0.2.1") as client:
        for _ in range(2):
            await client.post(
                "/api/v1/auth/login",
                json={"email": new_email(), "password": "wrong password"},
                headers={"X-Forwarded-For": new_ip()},
            )
        # A client cannot escape the limit by inventing a new X-Forwarded-For each time.
        refused = await client.post(
            "/api/v1/auth/login",
            json={"email": new_email(), "password": "wrong password"},
            headers={"X-Forwarded-For": new_ip()},
        )
        assert refused.status_code == 429


async def test_forwarded_for_is_believed_from_a_trusted_network(app_client):
    """Gateways in Kubernetes have no fixed address: a CIDR names them."""
    async with app_client(login_max_attempts_per_ip=2, forwarded_allow_ips="10.0.0.0/8, 127.0.0.0/8") as client:
        for _ in range(4):  # each from its own client address, as the gateway reports it
            response = await client.post(
                "/api/v1/auth/login",
                json={"email": new_email(), "password": "wrong password"},
                headers={"X-Forwarded-For": new_ip()},
            )
            assert response.status_code == 401


def test_forwarded_allow_ips_must_be_addresses_or_networks():
    with pytest.raises(ValueError, match=r"gateway\.internal"):
        Settings(forwarded_allow_ips="10.0.0.0/8,gateway.internal")
    assert Settings(forwarded_allow_ips="*").forwarded_allow_ips == ["*"]


async def test_login_refuses_unknown_fields_and_huge_passwords(client):
    email = await register(client)
    extra = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD, "remember": True})
    assert extra.status_code == 422
    huge = await client.post("/api/v1/auth/login", json={"email": email, "password": "x" * 10_000})
    assert huge.status_code == 422
