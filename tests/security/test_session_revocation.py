"""Every service refuses a revoked session by itself (ARCHITECTURE §4: within 1 second), not only
the gateway: a request that reaches circles or payments directly (from inside the cluster, or
with a second Authorization header the gateway did not look at) must not be answered for a
token whose session was logged out. And the shared bearer dependency refuses a request that
carries more than one Authorization header.
"""

from __future__ import annotations

import time

import httpx
import pytest
from seckit import WHO_AM_I, Accounts, assert_problem, bearer, client, describe

REVOCATION_DEADLINE_SECONDS = 1.0


@pytest.fixture(scope="module")
def gateway_url(platform) -> str:
    return platform.url("gateway")


def _refused_within(url: str, path: str, token: str, seconds: float) -> tuple[httpx.Response, float]:
    """Poll the service (bounded) until it answers 401; the answer and how long it took."""
    started = time.monotonic()
    with client(url) as http:
        while True:
            response = http.get(path, headers=bearer(token))
            elapsed = time.monotonic() - started
            if response.status_code == 401 or elapsed > seconds:
                return response, elapsed
            time.sleep(0.02)


@pytest.mark.parametrize("service", ["circles", "payments"])
def test_a_logged_out_token_is_refused_by_the_service_itself_within_a_second(
    service: str, platform, accounts: Accounts, gateway_url: str
):
    user = accounts.create(prefix=f"revoke-{service}")
    url, path = platform.url(service), WHO_AM_I[service]
    with client(url) as http:
        before = http.get(path, headers=user.headers)
    assert before.status_code == 200, describe(before)
    with client(gateway_url) as http:
        logout = http.post("/api/v1/auth/logout", headers=user.headers)
    assert logout.status_code == 204, describe(logout)
    response, elapsed = _refused_within(url, path, user.token, REVOCATION_DEADLINE_SECONDS)
    assert_problem(response, 401)
    assert elapsed <= REVOCATION_DEADLINE_SECONDS, f"{service} still answered {elapsed:.2f}s after logout"


@pytest.mark.parametrize("service", ["circles", "payments"])
def test_a_second_authorization_header_is_refused_by_the_service(service: str, platform, accounts: Accounts):
    user = accounts.create(prefix=f"twoauth-{service}")
    with client(platform.url(service)) as http:
        response = http.get(
            WHO_AM_I[service],
            headers=[("Authorization", f"Bearer {user.token}"), ("Authorization", "Bearer another-token")],
        )
        same_twice = http.get(
            WHO_AM_I[service],
            headers=[("Authorization", f"Bearer {user.token}"), ("Authorization", f"Bearer {user.token}")],
        )
    for answer in (response, same_twice):
        assert answer.status_code in (400, 401), describe(answer)
        assert_problem(answer, answer.status_code)
