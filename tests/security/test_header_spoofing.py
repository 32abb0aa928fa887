"""Client-supplied identity never reaches or influences a service.

Two views: (1) the real platform — spoofed `X-User-*`, `X-Internal-*`, `X-Forwarded-*` headers do
not change who /auth/me, /members/me or a role-gated endpoint thinks the caller is, nor the
client address auth records, and /internal/ paths are 404 through the gateway however they are
spelled; (2) a second gateway process (started here, stopped by its PID) whose circles and
payments upstream is an echo server in this test, so we see exactly which headers a service
would receive.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from seckit import Accounts, User, assert_problem, bearer, client, describe, fresh_source_ip

from mcm_testing.rawhttp import Recorder, gateway_process

SPOOFED = {
    "X-User-Id": "00000000-0000-0000-0000-000000000001",
    "X-User-Roles": "admin,leadership,support",
    "X-User-Email": "root@evil.example",
    "X-Internal-Service": "payments",
    "X-Internal-Token": "let-me-in",
    "X-Internal-Caller": "svc:auth",
    "X-Forwarded-For": "203.0.113.66",
    "X-Forwarded-Host": "admin.internal",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-User": "admin",
    "X-Real-IP": "203.0.113.66",
    "Forwarded": "for=203.0.113.66;proto=https",
}
FORBIDDEN_PREFIXES = ("x-user-", "x-internal-")
# Spellings of the same identity headers that some servers and frameworks fold into X-User-Id
# (underscores read as hyphens, as in CGI/WSGI environ keys) or read as identity on their own.
LOOKALIKES = {
    "X-User": "admin",
    "X-User_Id": "00000000-0000-0000-0000-000000000001",
    "X-User_Roles": "admin",
    "X-Internal_Token": "let-me-in",
}


@pytest.fixture(scope="module")
def member(accounts: Accounts) -> User:
    return accounts.create(prefix="spoof")


@pytest.fixture(scope="module")
def admin(accounts: Accounts) -> User:
    return accounts.admin


# -- the real platform ----------------------------------------------------------------------------
def test_spoofed_identity_headers_do_not_change_who_the_caller_is(platform, member: User, admin: User):
    spoofed = {**SPOOFED, "X-User-Id": admin.id}
    with client(platform.url("gateway")) as http:
        me = http.get("/api/v1/auth/me", headers={**member.headers, **spoofed})
        assert me.status_code == 200, describe(me)
        assert me.json()["id"] == member.id and "admin" not in me.json()["roles"]
        profile = http.get("/api/v1/members/me", headers={**member.headers, **spoofed})
        assert profile.status_code == 200, describe(profile)
        assert member.id in profile.text and admin.id not in profile.text
        # Role-gated functions stay closed.
        for path in ("/api/v1/payments/overview", "/api/v1/payments/interventions", "/api/v1/users"):
            assert_problem(http.get(path, headers={**member.headers, **spoofed}), 403)


@pytest.mark.parametrize("via", ["gateway", "auth", "circles", "payments"])
def test_identity_headers_without_a_token_are_401(platform, admin: User, via: str):
    path = {
        "gateway": "/api/v1/members/me",
        "auth": "/api/v1/auth/me",
        "circles": "/api/v1/members/me",
        "payments": "/api/v1/payments/obligations",
    }[via]
    with client(platform.url(via)) as http:
        assert_problem(http.get(path, headers={**SPOOFED, "X-User-Id": admin.id}), 401)


def test_forwarding_headers_do_not_change_the_address_auth_records(platform, member: User, accounts: Accounts):
    address = fresh_source_ip()
    with client(platform.url("gateway"), source_ip=address) as http:
        login = http.post(
            "/api/v1/auth/login", json={"email": member.email, "password": member.password}, headers=SPOOFED
        )
        assert login.status_code == 200, describe(login)
        token = login.json()["access_token"]
        sessions = http.get("/api/v1/auth/sessions", headers=bearer(token)).json()
    current = next(item for item in sessions if item["current"])
    assert current["ip_address"] == address, current


INTERNAL_SPELLINGS = [
    "/internal/health",
    "/api/v1/internal/users",
    "/api/v1/circles/internal/sync",
    "/api/v1/payments/internal/obligations",
    "/api/v1/auth/internal/users",
    "/api/v1/circles/INTERNAL/sync",
    "/api/v1/circles/%69nternal/sync",
    "/api/v1/circles/%2e%2e/internal/x",
    "/api/v1/circles/../internal/x",
    "/api/v1/circles/./internal/x",
    "/api/v1/circles//internal/x",
    "/api/v1/circles%2finternal%2fx",
    "/api/v1/circles/x%2f..%2f..%2finternal",
    "/api/v1/circles\\internal",
]


@pytest.mark.parametrize("path", INTERNAL_SPELLINGS)
@pytest.mark.parametrize("authenticated", [False, True], ids=["anonymous", "admin"])
def test_internal_paths_are_not_routed(platform, admin: User, path: str, authenticated: bool):
    headers = admin.headers if authenticated else {}
    with client(platform.url("gateway")) as http:
        # Sent exactly as written (no client-side normalisation of dot segments or escapes).
        request = http.build_request("GET", platform.url("gateway"), headers=headers)
        request.url = request.url.copy_with(raw_path=path.encode())
        response = http.send(request)
    assert response.status_code in (400, 404), describe(response)
    assert response.headers.get("content-type", "").startswith("application/problem+json"), describe(response)


# -- what a service actually receives -------------------------------------------------------------
@pytest.fixture(scope="module")
def echo() -> Iterator[Recorder]:
    """An upstream that records every request it parsed (mcm_testing.rawhttp.Recorder)."""
    recorder = Recorder().start()
    yield recorder
    recorder.stop()


@pytest.fixture(scope="module")
def echo_gateway(platform, echo: Recorder, tmp_path_factory) -> Iterator[str]:
    """A second gateway: auth is the real one (keys, sign-in), circles and payments are the echo."""
    log = tmp_path_factory.mktemp("echo-gateway") / "gateway.log"
    with gateway_process(
        platform.env, log, AUTH_URL=platform.url("auth"), CIRCLES_URL=echo.url, PAYMENTS_URL=echo.url
    ) as url:
        yield url


def _through_echo(
    echo_gateway: str, echo: Recorder, method: str, path: str, headers: dict[str, str], source_ip: str, **kwargs
) -> dict[str, str]:
    """The headers the upstream received for this one request (a repeated header's values joined
    with ", ", so a duplicate never passes for the single value a check expects)."""
    before = len(echo.seen)
    with client(echo_gateway, source_ip=source_ip) as http:
        response = http.request(method, path, headers=headers, **kwargs)
    assert response.status_code == 200, describe(response)
    assert len(echo.seen) == before + 1, "the request did not reach the upstream exactly once"
    return {name: ", ".join(values) for name, values in echo.seen[-1]["headers"].items()}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/members/me"),
        ("POST", "/api/v1/circles"),
        ("GET", "/api/v1/payments/obligations"),
        ("POST", "/api/v1/payments/webhooks/stripe"),
    ],
)
def test_forgeable_headers_never_reach_a_service(
    echo_gateway: str, echo: Recorder, member: User, method: str, path: str
):
    address = fresh_source_ip()
    headers = {
        **SPOOFED,
        **member.headers,
        "Connection": "keep-alive, X-Secret-Hop",
        "X-Secret-Hop": "strip me",
        "X-Request-ID": "has spaces and ; semicolons",
    }
    received = _through_echo(echo_gateway, echo, method, path, headers, address, json={} if method == "POST" else None)
    leaked = {name: value for name, value in received.items() if name.startswith(FORBIDDEN_PREFIXES)}
    assert not leaked, f"client identity headers reached the service: {leaked}"
    assert "forwarded" not in received, received
    assert "x-secret-hop" not in received, "a header the client declared hop-by-hop was forwarded"
    # The gateway states the client address it saw, not the one the client claimed.
    assert received.get("x-forwarded-for") == address, received
    assert received.get("x-real-ip") == address, received
    assert received.get("x-forwarded-host", "") != "admin.internal", received
    assert received.get("x-forwarded-proto") == "http", received
    assert received.get("x-request-id") and " " not in received["x-request-id"], received
    # The bearer token itself is passed on unchanged: each service verifies it.
    if path != "/api/v1/payments/webhooks/stripe":
        assert received.get("authorization") == member.headers["Authorization"]


def test_the_gateway_refuses_before_a_service_sees_a_bad_token(echo_gateway: str, echo: Recorder):
    before = len(echo.seen)
    with client(echo_gateway) as http:
        for headers in ({}, {"Authorization": "Bearer forged.token.value"}, {**SPOOFED}):
            assert_problem(http.get("/api/v1/members/me", headers=headers), 401)
    assert len(echo.seen) == before, "a request without a valid token reached the upstream"


def test_lookalike_identity_headers_never_reach_a_service(echo_gateway: str, echo: Recorder, member: User):
    received = _through_echo(
        echo_gateway, echo, "GET", "/api/v1/members/me", {**LOOKALIKES, **member.headers}, fresh_source_ip()
    )
    leaked = {name: value for name, value in received.items() if name in {key.lower() for key in LOOKALIKES}}
    assert not leaked, f"identity header look-alikes reached the service: {leaked}"
