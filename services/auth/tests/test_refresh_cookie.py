"""Browsers keep the refresh token in an HttpOnly cookie (issue 17): a login or refresh that
asks with `X-Refresh-Cookie: 1` gets it as `Set-Cookie` (HttpOnly, SameSite=Strict, scoped to
/api/v1/auth, Secure when PUBLIC_APP_URL is https) and never in the JSON; refresh reads the cookie
when the body has no token; every request that uses or asks for the cookie must carry
`X-CSRF: 1`; logout clears it. The JSON flow for native clients is unchanged."""

from __future__ import annotations

from http.cookies import SimpleCookie

from .conftest import PASSWORD, bearer, register

COOKIE = "mcm_refresh"
BROWSER = {"X-Refresh-Cookie": "1", "X-CSRF": "1"}


def set_cookie(response) -> SimpleCookie:
    jar: SimpleCookie = SimpleCookie()
    for header in response.headers.get_list("set-cookie"):
        jar.load(header)
    return jar


async def browser_login(client, email: str, **headers: str):
    return await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers={**BROWSER, **headers}
    )


async def cookie_refresh(client, value: str, headers: dict[str, str] | None = None):
    sent = {"Cookie": f"{COOKIE}={value}", **(BROWSER if headers is None else headers)}
    return await client.post("/api/v1/auth/refresh", json={}, headers=sent)


async def test_a_browser_login_gets_the_refresh_token_only_as_a_strict_httponly_cookie(client):
    email = await register(client)
    response = await browser_login(client, email)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] is None  # script never sees it
    assert (await client.get("/api/v1/auth/me", headers=bearer(body))).status_code == 200
    morsel = set_cookie(response)[COOKIE]
    assert len(morsel.value) >= 40
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "strict"
    assert morsel["path"] == "/api/v1/auth"
    assert not morsel["secure"]  # PUBLIC_APP_URL is plain http in tests
    assert int(morsel["max-age"]) > 0


async def test_the_cookie_is_secure_when_the_app_is_served_over_https(app_client):
    async with app_client(public_app_url="https://circles.example") as client:
        email = await register(client)
        morsel = set_cookie(await browser_login(client, email))[COOKIE]
        assert morsel["secure"] is True


async def test_refresh_reads_the_cookie_rotates_it_and_the_old_one_stops_working(client):
    email = await register(client)
    first = set_cookie(await browser_login(client, email))[COOKIE].value
    response = await cookie_refresh(client, first)
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] is None
    second = set_cookie(response)[COOKIE].value
    assert second != first
    assert (await client.get("/api/v1/auth/me", headers=bearer(response.json()))).status_code == 200
    assert (await cookie_refresh(client, first)).status_code == 401  # reuse: the session is revoked


async def test_cookie_requests_without_the_csrf_header_are_refused_and_change_nothing(client):
    email = await register(client)
    value = set_cookie(await browser_login(client, email))[COOKIE].value
    refused = await cookie_refresh(client, value, headers={})
    assert refused.status_code == 403
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json()["type"].endswith("csrf-header-required")
    assert not refused.headers.get_list("set-cookie")
    assert (await cookie_refresh(client, value, headers={"X-Refresh-Cookie": "1"})).status_code == 403
    # Nothing was used up: the same cookie still refreshes with the header.
    assert (await cookie_refresh(client, value)).status_code == 200
    # Asking for a cookie at login needs the header too (no login CSRF).
    login = await client.post(
        "/api/v1/auth/login", json={"email": email, "password": PASSWORD}, headers={"X-Refresh-Cookie": "1"}
    )
    assert login.status_code == 403 and not login.headers.get_list("set-cookie")


async def test_native_clients_keep_the_json_flow_and_get_no_cookie(client):
    email = await register(client)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200
    assert response.json()["refresh_token"]
    assert not response.headers.get_list("set-cookie")
    again = await client.post("/api/v1/auth/refresh", json={"refresh_token": response.json()["refresh_token"]})
    assert again.status_code == 200 and again.json()["refresh_token"]
    assert not again.headers.get_list("set-cookie")


async def test_refresh_with_neither_token_nor_cookie_is_unauthenticated(client):
    response = await client.post("/api/v1/auth/refresh", json={}, headers=BROWSER)
    assert response.status_code == 401


async def test_logout_clears_the_cookie_and_ends_the_session(client):
    email = await register(client)
    login = await browser_login(client, email)
    value = set_cookie(login)[COOKIE].value
    response = await client.post("/api/v1/auth/logout", headers={**bearer(login.json()), **BROWSER})
    assert response.status_code == 204
    cleared = set_cookie(response)[COOKIE]
    assert cleared.value == "" and int(cleared["max-age"]) == 0 and cleared["path"] == "/api/v1/auth"
    assert (await cookie_refresh(client, value)).status_code == 401
