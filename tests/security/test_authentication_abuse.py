"""Authentication abuse through the gateway: guessing passwords is throttled per (account, client
address) (429 + Retry-After) without locking the owner out, past an account-wide bound the owner
steps up with an emailed code, and register / login / password-reset answer exactly alike
whether or not an address has an account, so none of them tells who is registered.

Limits are the production defaults (5 failures refuse that address for that account, 20 failures
from anywhere ask for an emailed code, 50 sign-in attempts per address per 15 minutes, 20
sign-ups and 20 reset requests per address per hour); each test sends from its own loopback
source addresses so the per-address counters of one test never touch another's.
"""

from __future__ import annotations

import re

import httpx
import pytest
from seckit import (
    USER_PASSWORD,
    Accounts,
    assert_problem,
    client,
    describe,
    fresh_source_ip,
    stable_view,
    unique_email,
    wait_for,
)

from mcm_devstack.sinklog import read_messages

# Upper bounds the defaults must stay under; a test fails if no 429 arrives by then.
MAX_FAILURES_BEFORE_LOCK = 10  # from one address, for one account
MAX_ACCOUNT_FAILURES_BEFORE_STEP_UP = 40  # from every address together
MAX_LOGINS_PER_ADDRESS = 100
MAX_SIGNUPS_PER_ADDRESS = 40
MAX_RESETS_PER_ADDRESS = 40
WRONG = "not the right password"


def _retry_after(response: httpx.Response) -> int:
    assert_problem(response, 429)
    value = response.headers.get("retry-after")
    assert value is not None and value.isdigit() and int(value) >= 1, f"Retry-After {value!r} on {describe(response)}"
    return int(value)


def _login(
    gateway_url: str, email: str, password: str, *, source_ip: str | None = None, headers=None
) -> httpx.Response:
    with client(gateway_url, source_ip=source_ip or fresh_source_ip()) as http:
        return http.post("/api/v1/auth/login", json={"email": email, "password": password}, headers=headers)


@pytest.fixture(scope="module")
def gateway_url(platform) -> str:
    return platform.url("gateway")


# -- brute force ----------------------------------------------------------------------------------
def test_password_guessing_refuses_the_guessing_address_but_not_the_owner(accounts: Accounts, gateway_url: str):
    victim = accounts.create(prefix="victim")
    guesser = fresh_source_ip()
    statuses = []
    for _ in range(MAX_FAILURES_BEFORE_LOCK + 1):
        response = _login(gateway_url, victim.email, WRONG, source_ip=guesser)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
        assert_problem(response, 401)
    assert statuses[-1] == 429, f"no refusal after {len(statuses)} failed sign-ins from one address: {statuses}"
    _retry_after(response)
    # That address stays refused, even with the right password, with the same answer ...
    locked = _login(gateway_url, victim.email, USER_PASSWORD, source_ip=guesser)
    assert _retry_after(locked) > 0
    assert locked.json()["type"] == response.json()["type"]
    # ... while the owner, from anywhere else, signs in as usual: knowing an email is not
    # enough to lock its owner out.
    owner = _login(gateway_url, victim.email, USER_PASSWORD)
    assert owner.status_code == 200, describe(owner)


def _sign_in_codes(platform, email: str) -> list[str]:
    store = platform.sidecars["mailsink"].store
    return [
        re.search(r"sign-in code is (\d{6})", message["body"]).group(1)
        for message in read_messages(store)
        if email in message["rcpt_tos"] and "sign-in code is" in message.get("body", "")
    ]


def test_guessing_from_many_addresses_makes_the_owner_step_up_with_an_emailed_code(
    platform, accounts: Accounts, gateway_url: str
):
    victim = accounts.create(prefix="stepup")
    step_up = None
    for failures in range(1, MAX_ACCOUNT_FAILURES_BEFORE_STEP_UP + 1):
        # One guess per address: no address ever reaches its own limit.
        assert_problem(_login(gateway_url, victim.email, WRONG), 401)
        if failures % 5 == 0:
            answer = _login(gateway_url, victim.email, USER_PASSWORD)
            if answer.status_code != 200:
                step_up = answer
                break
    assert step_up is not None, (
        f"{MAX_ACCOUNT_FAILURES_BEFORE_STEP_UP} failures from different addresses never asked for more than the "
        "password"
    )
    body = assert_problem(step_up, 401)
    assert body["type"].endswith("/sign-in-code-required") and body["code_required"] is True, body
    # A wrong password still gets the plain answer, so a guesser learns nothing from the step-up.
    assert _login(gateway_url, victim.email, WRONG).json()["type"].endswith("/invalid-credentials")
    codes = wait_for(lambda: _sign_in_codes(platform, victim.email), timeout=15, what="the emailed sign-in code")
    code = codes[-1]
    owner = fresh_source_ip()

    def finish(with_code: str) -> httpx.Response:
        with client(gateway_url, source_ip=owner) as http:
            return http.post(
                "/api/v1/auth/login", json={"email": victim.email, "password": USER_PASSWORD, "code": with_code}
            )

    wrong = finish(f"{(int(code) + 1) % 1_000_000:06d}")
    assert assert_problem(wrong, 401)["type"].endswith("/invalid-sign-in-code")
    done = finish(code)
    assert done.status_code == 200, describe(done)
    assert set(done.json()) == {"access_token", "refresh_token", "token_type", "expires_in"}
    reused = finish(code)
    assert assert_problem(reused, 401)["type"].endswith("/invalid-sign-in-code")


def test_account_deletion_password_guesses_are_throttled(accounts: Accounts, gateway_url: str):
    user = accounts.create(prefix="erase")
    address = fresh_source_ip()
    with client(gateway_url, source_ip=address) as http:
        statuses = []
        for _ in range(MAX_FAILURES_BEFORE_LOCK + 1):
            response = http.request("DELETE", "/api/v1/auth/me", json={"password": WRONG}, headers=user.headers)
            statuses.append(response.status_code)
            if response.status_code == 429:
                break
            assert_problem(response, 401)
        assert statuses[-1] == 429, (
            f"account deletion took {len(statuses)} wrong passwords without a refusal: {statuses}"
        )
        _retry_after(response)
    me = _login(gateway_url, user.email, USER_PASSWORD)
    assert me.status_code == 200, describe(me)  # not deleted, and the owner elsewhere is unaffected


def test_sign_in_attempts_from_one_address_are_limited(accounts: Accounts, gateway_url: str):
    address = fresh_source_ip()
    real = accounts.create(prefix="bystander")
    with client(gateway_url, source_ip=address) as http:
        limited = None
        for attempt in range(MAX_LOGINS_PER_ADDRESS + 1):
            # A different (unknown) email each time, so no account lock-out is involved.
            response = http.post("/api/v1/auth/login", json={"email": unique_email("spray"), "password": WRONG})
            if response.status_code == 429:
                limited = attempt
                break
            assert_problem(response, 401)
        assert limited is not None, f"{MAX_LOGINS_PER_ADDRESS + 1} sign-in attempts from {address} were never throttled"
        _retry_after(response)
        # The address is limited as a whole: a correct password from it is refused too ...
        _retry_after(http.post("/api/v1/auth/login", json={"email": real.email, "password": USER_PASSWORD}))
        # ... and claiming to be someone else in forwarding headers does not help.
        spoofed = http.post(
            "/api/v1/auth/login",
            json={"email": real.email, "password": USER_PASSWORD},
            headers={"X-Forwarded-For": "203.0.113.7", "X-Real-IP": "203.0.113.7", "Forwarded": "for=203.0.113.7"},
        )
        _retry_after(spoofed)
    # Another address is not affected.
    elsewhere = _login(gateway_url, real.email, USER_PASSWORD)
    assert elsewhere.status_code == 200, describe(elsewhere)


def test_sign_ups_from_one_address_are_limited(gateway_url: str):
    with client(gateway_url, source_ip=fresh_source_ip()) as http:
        for _ in range(MAX_SIGNUPS_PER_ADDRESS + 1):
            response = http.post(
                "/api/v1/auth/register",
                json={"email": unique_email("flood"), "password": USER_PASSWORD, "display_name": "Flood"},
            )
            if response.status_code == 429:
                break
            assert response.status_code == 201, describe(response)
        else:
            pytest.fail(f"{MAX_SIGNUPS_PER_ADDRESS + 1} sign-ups from one address were never throttled")
        _retry_after(response)


def test_password_reset_requests_from_one_address_are_limited(gateway_url: str):
    with client(gateway_url, source_ip=fresh_source_ip()) as http:
        for _ in range(MAX_RESETS_PER_ADDRESS + 1):
            response = http.post("/api/v1/auth/password-reset", json={"email": unique_email("reset")})
            if response.status_code == 429:
                break
            assert response.status_code == 202, describe(response)
        else:
            pytest.fail(f"{MAX_RESETS_PER_ADDRESS + 1} reset requests from one address were never throttled")
        _retry_after(response)


def test_verification_code_guessing_is_bounded_and_resends_are_throttled(accounts: Accounts, gateway_url: str):
    user = accounts.create(prefix="codes")
    with client(gateway_url, source_ip=fresh_source_ip()) as http:
        answers = [
            http.post("/api/v1/auth/verify-email", json={"code": "000000"}, headers=user.headers) for _ in range(8)
        ]
        for answer in answers:
            assert 400 <= answer.status_code < 500 and answer.status_code != 401, describe(answer)
            assert answer.headers["content-type"].startswith("application/problem+json"), describe(answer)
        # After a handful of wrong guesses the code is burned: the answer must say so (no
        # attempts left) rather than keep inviting guesses.
        last = answers[-1].json()
        assert last.get("attempts_left", 0) == 0, last
        first = http.post("/api/v1/auth/verify-email/resend", headers=user.headers)
        assert first.status_code in (202, 429), describe(first)
        second = http.post("/api/v1/auth/verify-email/resend", headers=user.headers)
        _retry_after(second)


# -- no user enumeration ----------------------------------------------------------------------------
def test_registering_a_taken_address_answers_like_a_new_one_and_changes_nothing(accounts: Accounts, gateway_url: str):
    existing = accounts.create(prefix="taken")
    with client(gateway_url, source_ip=fresh_source_ip()) as http:
        taken = http.post(
            "/api/v1/auth/register",
            json={"email": existing.email, "password": "another long password", "display_name": "Imposter"},
        )
        fresh = http.post(
            "/api/v1/auth/register",
            json={"email": unique_email("fresh"), "password": "another long password", "display_name": "Imposter"},
        )
        # Case and surrounding spaces must not make a difference either.
        variant = http.post(
            "/api/v1/auth/register",
            json={
                "email": f"  {existing.email.upper()} ",
                "password": "another long password",
                "display_name": "Imposter",
            },
        )
    assert taken.status_code == 201, describe(taken)
    assert stable_view(taken) == stable_view(fresh)
    assert stable_view(variant) == stable_view(fresh)
    # The account was not touched: the old password still works, the new one does not.
    old, new = (
        _login(gateway_url, existing.email, USER_PASSWORD),
        _login(gateway_url, existing.email, "another long password"),
    )
    assert old.status_code == 200, describe(old)
    assert new.status_code == 401, describe(new)


def test_failed_sign_in_answers_alike_for_existing_and_unknown_addresses(accounts: Accounts, gateway_url: str):
    existing = accounts.create(prefix="known")
    unknown = unique_email("unknown")
    known_from, unknown_from = fresh_source_ip(), fresh_source_ip()
    known_answers = [
        _login(gateway_url, existing.email, WRONG, source_ip=known_from) for _ in range(MAX_FAILURES_BEFORE_LOCK)
    ]
    unknown_answers = [
        _login(gateway_url, unknown, WRONG, source_ip=unknown_from) for _ in range(MAX_FAILURES_BEFORE_LOCK)
    ]
    # Same status, body and headers at every step, including when the address is refused (for
    # an unknown email after the same number of failures).
    assert 429 in [answer.status_code for answer in known_answers], [describe(a) for a in known_answers]
    known_views = [stable_view(answer)[:3] for answer in known_answers]
    unknown_views = [stable_view(answer)[:3] for answer in unknown_answers]
    assert [v[0] for v in known_views] == [v[0] for v in unknown_views]
    for known, other in zip(known_answers, unknown_answers, strict=True):
        assert stable_view(known)[:2] == stable_view(other)[:2]
        assert known.json() | {"instance": None} == other.json() | {"instance": None}
        assert known.headers.get("www-authenticate") == other.headers.get("www-authenticate")
        assert (known.headers.get("retry-after") is None) == (other.headers.get("retry-after") is None)


def test_password_reset_answers_alike_for_existing_unknown_and_malformed_case_addresses(
    accounts: Accounts, gateway_url: str
):
    existing = accounts.create(prefix="resetme")
    with client(gateway_url, source_ip=fresh_source_ip()) as http:
        known = http.post("/api/v1/auth/password-reset", json={"email": existing.email})
        unknown = http.post("/api/v1/auth/password-reset", json={"email": unique_email("nobody")})
        shouted = http.post("/api/v1/auth/password-reset", json={"email": existing.email.upper()})
        # More requests for the same account than its own (silent) limit allows: still 202.
        repeated = [http.post("/api/v1/auth/password-reset", json={"email": existing.email}) for _ in range(5)]
    assert known.status_code == 202, describe(known)
    assert stable_view(known) == stable_view(unknown) == stable_view(shouted)
    assert all(stable_view(answer) == stable_view(unknown) for answer in repeated), [describe(a) for a in repeated]


def test_confirming_a_reset_with_a_guessed_token_is_refused_without_detail(gateway_url: str):
    with client(gateway_url, source_ip=fresh_source_ip()) as http:
        answers = [
            http.post(
                "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": "a brand new password"}
            )
            for token in ("x", "0" * 43, "A" * 64)
        ]
    bodies = {(answer.status_code, answer.json()["type"], answer.json()["detail"]) for answer in answers}
    assert len(bodies) == 1, bodies
    status = answers[0].status_code
    assert 400 <= status < 500 and status not in (404, 429), describe(answers[0])
