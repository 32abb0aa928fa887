"""Google sign-in against a local fake OpenID provider (issue 3, item 10)."""

from __future__ import annotations

import uuid

import pytest

from .conftest import PASSWORD, bearer, login, new_email, register
from .fake_oidc import CLIENT_ID, google_settings, start_provider


@pytest.fixture(scope="module")
def provider():
    fake, server = start_provider()
    yield fake
    server.should_exit = True


@pytest.fixture
async def google(app_client, provider):
    provider.override_nonce = None
    async with app_client(**google_settings(provider)) as client:
        yield client


async def sign_in(client, provider, **identity):
    started = await client.get("/api/v1/auth/oidc/google/start")
    assert started.status_code == 200
    code, state = provider.consent(started.json()["authorization_url"], **identity)
    assert state == started.json()["state"]
    return await client.post("/api/v1/auth/oidc/google/callback", json={"code": code, "state": state})


async def test_the_authorization_url_uses_pkce_state_and_nonce(google):
    body = (await google.get("/api/v1/auth/oidc/google/start")).json()
    url = body["authorization_url"]
    for part in (
        "code_challenge_method=S256",
        "code_challenge=",
        "nonce=",
        f"state={body['state']}",
        f"client_id={CLIENT_ID}",
        "scope=openid+email+profile",
    ):
        assert part in url


async def test_first_google_sign_in_creates_a_verified_account(google, provider):
    email = new_email()
    response = await sign_in(google, provider, sub=uuid.uuid4().hex, email=email, name="Greg Google")
    assert response.status_code == 200, response.text
    me = (await google.get("/api/v1/auth/me", headers=bearer(response.json()))).json()
    assert me["email"] == email and me["email_verified"] is True and me["display_name"] == "Greg Google"
    # No password was set, so password sign-in cannot work for this account.
    assert (await google.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 401


async def test_the_same_google_account_signs_into_the_same_user(google, provider):
    sub = uuid.uuid4().hex
    first = await sign_in(google, provider, sub=sub, email=new_email())
    second = await sign_in(google, provider, sub=sub, email=new_email())  # even if the email changed at Google
    ids = [(await google.get("/api/v1/auth/me", headers=bearer(r.json()))).json()["id"] for r in (first, second)]
    assert ids[0] == ids[1]


async def test_a_verified_google_email_links_the_existing_account(google, provider, mail):
    from .conftest import verified_user

    email, password_tokens = await verified_user(google, mail)  # unverified ones: see the squatter test
    response = await sign_in(google, provider, sub=uuid.uuid4().hex, email=email.upper())
    assert response.status_code == 200
    ids = {
        (await google.get("/api/v1/auth/me", headers=bearer(t))).json()["id"]
        for t in (password_tokens, response.json())
    }
    assert len(ids) == 1


async def test_an_unverified_google_email_is_refused(google, provider):
    email = await register(google)
    response = await sign_in(google, provider, sub=uuid.uuid4().hex, email=email, email_verified=False)
    assert response.status_code == 401


async def test_state_is_single_use_and_must_be_known(google, provider):
    started = (await google.get("/api/v1/auth/oidc/google/start")).json()
    code, state = provider.consent(started["authorization_url"], sub=uuid.uuid4().hex, email=new_email())
    assert (
        await google.post("/api/v1/auth/oidc/google/callback", json={"code": code, "state": state})
    ).status_code == 200
    replay = await google.post("/api/v1/auth/oidc/google/callback", json={"code": code, "state": state})
    assert replay.status_code == 400
    forged = await google.post("/api/v1/auth/oidc/google/callback", json={"code": "x", "state": "a" * 43})
    assert forged.status_code == 400


async def test_a_code_from_another_sign_in_attempt_is_refused(google, provider):
    mine = (await google.get("/api/v1/auth/oidc/google/start")).json()
    theirs = (await google.get("/api/v1/auth/oidc/google/start")).json()
    code, _ = provider.consent(theirs["authorization_url"], sub=uuid.uuid4().hex, email=new_email())
    # Our PKCE verifier does not match the challenge their code was issued for.
    response = await google.post("/api/v1/auth/oidc/google/callback", json={"code": code, "state": mine["state"]})
    assert response.status_code == 401


async def test_a_wrong_nonce_is_refused(google, provider):
    provider.override_nonce = "replayed-nonce"
    response = await sign_in(google, provider, sub=uuid.uuid4().hex, email=new_email())
    assert response.status_code == 401


async def test_google_sign_in_is_404_when_not_configured(client):
    assert (await client.get("/api/v1/auth/oidc/google/start")).status_code == 404


async def test_the_redirect_can_land_directly_on_the_api(google, provider):
    started = (await google.get("/api/v1/auth/oidc/google/start")).json()
    code, state = provider.consent(started["authorization_url"], sub=uuid.uuid4().hex, email=new_email())
    response = await google.get("/api/v1/auth/oidc/google/callback", params={"code": code, "state": state})
    assert response.status_code == 200 and response.json()["token_type"] == "bearer"


async def test_google_sign_in_takes_an_unverified_squatted_account_from_the_squatter(google, provider, mail):
    """Someone registered the victim's address with his own password (never verified). When the
    victim signs in with Google, the squatter's password, phone and sessions must all be gone."""
    email = await register(google, password="the squatter's password")
    squatter = await login(google, email, password="the squatter's password")
    assert (await google.get("/api/v1/auth/me", headers=bearer(squatter))).json()["email_verified"] is False

    victim = await sign_in(google, provider, sub=uuid.uuid4().hex, email=email, name="Real Owner")
    assert victim.status_code == 200, victim.text
    me = (await google.get("/api/v1/auth/me", headers=bearer(victim.json()))).json()
    assert me["email_verified"] is True and me["display_name"] == "Real Owner"

    assert (
        await google.post("/api/v1/auth/login", json={"email": email, "password": "the squatter's password"})
    ).status_code == 401
    assert (await google.get("/api/v1/auth/me", headers=bearer(squatter))).status_code == 401
    refreshed = await google.post("/api/v1/auth/refresh", json={"refresh_token": squatter["refresh_token"]})
    assert refreshed.status_code == 401
    # The revocation was published, so the gateway and every other service refuse the token too.
    revoked = await google.app.state.runtime.redis.zscore("auth:revoked_sessions", _sid(squatter))
    assert revoked is not None


async def test_linking_a_verified_account_keeps_its_password_and_sessions(google, provider, mail):
    from .conftest import verified_user

    email, tokens = await verified_user(google, mail)
    response = await sign_in(google, provider, sub=uuid.uuid4().hex, email=email)
    assert response.status_code == 200
    assert (await google.get("/api/v1/auth/me", headers=bearer(tokens))).status_code == 200
    assert (await google.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200


def _sid(tokens) -> str:
    import jwt

    return jwt.decode(tokens["access_token"], options={"verify_signature": False})["sid"]
