"""Password guessing is limited per (account, client address), and past an account-wide bound the
owner steps up with an emailed one-time code instead of being locked out (issue 13, item 3).

Clients are told apart by the address the trusted hop in front reports (`X-Forwarded-For` from
the in-process peer 127.0.0.1, which auth trusts by default); the security suite does the same
with real loopback source addresses through the gateway.
"""

from __future__ import annotations

import re

import httpx

from .conftest import PASSWORD, bearer, login, new_email, new_ip, register

WRONG = "not the right password"
LOGIN = "/api/v1/auth/login"


def _from(ip: str) -> dict[str, str]:
    return {"X-Forwarded-For": ip}


async def _attempt(client: httpx.AsyncClient, email: str, password: str, ip: str, **extra: str) -> httpx.Response:
    return await client.post(LOGIN, json={"email": email, "password": password, **extra}, headers=_from(ip))


async def _code_from_mail(mail, email: str, after: int = 0) -> str:
    found = await mail.wait_for_text(email, "sign-in code is")
    codes = [
        re.search(r"sign-in code is (\d{6})", m.body).group(1) for m in mail.to(email) if "sign-in code is" in m.body
    ]
    assert len(codes) > after, codes
    return codes[-1] if found else ""


async def test_the_guessing_address_is_refused_while_the_owner_signs_in_from_another(app_client):
    async with app_client(login_max_failures_per_client=3, login_lockout_seconds=120) as client:
        email = await register(client)
        guesser, owner = new_ip(), new_ip()
        for _ in range(3):
            assert (await _attempt(client, email, WRONG, guesser)).status_code == 401
        refused = await _attempt(client, email, PASSWORD, guesser)
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert 0 < int(refused.headers["Retry-After"]) <= 120
        # The owner, elsewhere, is not locked out by someone who merely knows the address.
        assert (await _attempt(client, email, PASSWORD, owner)).status_code == 200


async def test_unknown_emails_are_refused_to_the_guessing_address_the_same_way(app_client):
    async with app_client(login_max_failures_per_client=2) as client:
        known, unknown, ip = await register(client), new_email(), new_ip()
        answers = {}
        for email in (known, unknown):
            statuses = [(await _attempt(client, email, WRONG, ip)).status_code for _ in range(3)]
            answers[email] = statuses
        assert answers[known] == answers[unknown] == [401, 401, 429]


async def test_a_successful_sign_in_clears_the_address_counter(app_client):
    async with app_client(login_max_failures_per_client=3) as client:
        email, ip = await register(client), new_ip()
        for _ in range(2):
            assert (await _attempt(client, email, WRONG, ip)).status_code == 401
        assert (await _attempt(client, email, PASSWORD, ip)).status_code == 200
        for _ in range(2):
            assert (await _attempt(client, email, WRONG, ip)).status_code == 401
        assert (await _attempt(client, email, PASSWORD, ip)).status_code == 200


async def test_past_the_account_wide_bound_the_owner_steps_up_with_an_emailed_code(app_client, mail):
    async with app_client(login_max_failures_per_client=2, login_max_failures_per_account=4) as client:
        email = await register(client)
        for _ in range(4):  # two addresses, each under its own limit, together past the account's
            await _attempt(client, email, WRONG, new_ip())
        owner = new_ip()
        # A wrong password still gets the plain answer: nothing tells the guesser about the step-up.
        wrong = await _attempt(client, email, WRONG, new_ip())
        assert wrong.status_code == 401 and wrong.json()["type"].endswith("/invalid-credentials")
        assert not [m for m in mail.to(email) if "sign-in code is" in m.body]
        # The right password alone is no longer enough: a code is emailed.
        step_up = await _attempt(client, email, PASSWORD, owner)
        assert step_up.status_code == 401, step_up.text
        assert step_up.json()["type"].endswith("/sign-in-code-required")
        assert step_up.json()["code_required"] is True
        assert "access_token" not in step_up.json()
        code = await _code_from_mail(mail, email)
        # A wrong code fails; the right one, with the password, signs in.
        bad = await _attempt(client, email, PASSWORD, owner, code="000000" if code != "000000" else "111111")
        assert bad.status_code == 401 and bad.json()["type"].endswith("/invalid-sign-in-code")
        done = await _attempt(client, email, PASSWORD, owner, code=code)
        assert done.status_code == 200, done.text
        assert set(done.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
        assert (await client.get("/api/v1/auth/me", headers=bearer(done.json()))).status_code == 200
        # Single use: the same code does not sign in twice.
        again = await _attempt(client, email, PASSWORD, owner, code=code)
        assert again.status_code == 401 and again.json()["type"].endswith("/invalid-sign-in-code")


async def test_a_code_needs_the_right_password_too(app_client, mail):
    async with app_client(login_max_failures_per_client=2, login_max_failures_per_account=2) as client:
        email = await register(client)
        for _ in range(2):
            await _attempt(client, email, WRONG, new_ip())
        owner = new_ip()
        assert (await _attempt(client, email, PASSWORD, owner)).status_code == 401
        code = await _code_from_mail(mail, email)
        with_wrong_password = await _attempt(client, email, WRONG, new_ip(), code=code)
        assert with_wrong_password.json()["type"].endswith("/invalid-credentials")
        assert (await _attempt(client, email, PASSWORD, owner, code=code)).status_code == 200


async def test_a_code_is_burned_after_a_few_wrong_guesses(app_client, mail):
    async with app_client(login_max_failures_per_client=2, login_max_failures_per_account=2) as client:
        email = await register(client)
        for _ in range(2):
            await _attempt(client, email, WRONG, new_ip())
        owner = new_ip()
        await _attempt(client, email, PASSWORD, owner)
        code = await _code_from_mail(mail, email)
        wrong_code = f"{(int(code) + 1) % 1_000_000:06d}"
        for _ in range(5):
            assert (await _attempt(client, email, PASSWORD, owner, code=wrong_code)).status_code == 401
        burned = await _attempt(client, email, PASSWORD, owner, code=code)
        assert burned.status_code == 401 and burned.json()["type"].endswith("/invalid-sign-in-code")


async def test_code_emails_are_rate_limited(app_client, mail):
    async with app_client(login_max_failures_per_client=2, login_max_failures_per_account=2) as client:
        email = await register(client)
        for _ in range(2):
            await _attempt(client, email, WRONG, new_ip())
        owner = new_ip()
        for _ in range(4):
            assert (await _attempt(client, email, PASSWORD, owner)).json()["type"].endswith("/sign-in-code-required")
        await _code_from_mail(mail, email)
        # Within the resend cooldown only one message went out.
        assert len([m for m in mail.to(email) if "sign-in code is" in m.body]) == 1


async def test_a_password_reset_clears_the_account_counters(app_client, mail):
    async with app_client(login_max_failures_per_client=2, login_max_failures_per_account=3) as client:
        email, ip = await register(client), new_ip()
        for guesser in (ip, ip, new_ip()):
            await _attempt(client, email, WRONG, guesser)
        assert (await _attempt(client, email, PASSWORD, ip)).status_code == 429
        assert (await _attempt(client, email, PASSWORD, new_ip())).json()["type"].endswith("/sign-in-code-required")
        assert (await client.post("/api/v1/auth/password-reset", json={"email": email})).status_code == 202
        found = await mail.wait_for_text(email, "reset-password?token=")
        token = re.search(r"token=([\w\-%]+)", found.body).group(1)
        new_password = "a brand new password"
        confirmed = await client.post(
            "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
        )
        assert confirmed.status_code == 204, confirmed.text
        # Both the address that failed and any other sign in with the new password at once.
        assert (await _attempt(client, email, new_password, ip)).status_code == 200
        assert (await _attempt(client, email, new_password, new_ip())).status_code == 200


async def test_account_deletion_password_failures_are_throttled(app_client):
    async with app_client(login_max_failures_per_client=3, login_lockout_seconds=120) as client:
        email, ip = await register(client), new_ip()
        tokens = await login(client, email, **_from(ip))
        for _ in range(3):
            wrong = await client.request(
                "DELETE", "/api/v1/auth/me", json={"password": WRONG}, headers={**bearer(tokens), **_from(ip)}
            )
            assert wrong.status_code == 401, wrong.text
            assert wrong.json()["type"].endswith("/wrong-password")
        refused = await client.request(
            "DELETE", "/api/v1/auth/me", json={"password": PASSWORD}, headers={**bearer(tokens), **_from(ip)}
        )
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) > 0
        # Those failures count against sign-in from that address too.
        assert (await _attempt(client, email, PASSWORD, ip)).status_code == 429
        # The account was not deleted.
        assert (await _attempt(client, email, PASSWORD, new_ip())).status_code == 200


async def test_two_clients_behind_a_trusted_proxy_chain_get_separate_counters(app_client):
    """Ingress (10.0.3.2) → gateway (the peer, 127.0.0.1) → auth: the gateway forwards
    `client, ingress`; each client must have its own counter, not the ingress's."""
    async with app_client(login_max_attempts_per_ip=3, forwarded_allow_ips="127.0.0.1, 10.0.0.0/8") as client:
        first = {"X-Forwarded-For": "198.51.100.7, 10.0.3.2"}
        second = {"X-Forwarded-For": "198.51.100.8, 10.0.3.2"}
        for _ in range(3):
            response = await client.post(LOGIN, json={"email": new_email(), "password": WRONG}, headers=first)
            assert response.status_code == 401
        assert (
            await client.post(LOGIN, json={"email": new_email(), "password": WRONG}, headers=first)
        ).status_code == 429
        other = await client.post(LOGIN, json={"email": new_email(), "password": WRONG}, headers=second)
        assert other.status_code == 401, "another client behind the same ingress shares the first one's counter"


async def test_the_session_records_the_real_client_behind_the_chain(app_client):
    async with app_client(forwarded_allow_ips="127.0.0.1, 10.0.0.0/8") as client:
        email = await register(client)
        tokens = await login(client, email, **{"X-Forwarded-For": "6.6.6.6, 198.51.100.9, 10.0.3.2"})
        sessions = (await client.get("/api/v1/auth/sessions", headers=bearer(tokens))).json()
        assert [s["ip_address"] for s in sessions] == ["198.51.100.9"]
