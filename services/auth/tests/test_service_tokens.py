"""Client-credentials tokens for service-to-service calls (issue 3, item 9)."""

from __future__ import annotations

import base64

import jwt
import pytest

from mcm_shared.security import TokenVerifier

SECRET = "circles-secret-0123456789"


async def ask(client, **form):
    return await client.post("/api/v1/auth/token", data=form)


async def test_a_client_gets_a_short_lived_internal_token(client):
    response = await ask(client, grant_type="client_credentials", client_id="circles", client_secret=SECRET)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 300
    assert response.headers["cache-control"] == "no-store"
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == "svc:circles" and claims["aud"] == "internal" and claims["typ"] == "access"
    assert claims["exp"] - claims["iat"] == 300
    assert "sid" not in claims


async def test_the_shared_verifier_accepts_it_for_internal_routes_only(client):
    token = (await ask(client, grant_type="client_credentials", client_id="circles", client_secret=SECRET)).json()[
        "access_token"
    ]
    keys = client.app.state.runtime.keyring.verifier_keys
    internal = TokenVerifier(keys, issuer="mcm-auth", audience="internal")
    principal = await internal.verify(token)
    assert principal.is_service and principal.subject == "svc:circles"
    public = TokenVerifier(keys, issuer="mcm-auth", audience="mcm-api")
    from mcm_shared.errors import Unauthenticated

    with pytest.raises(Unauthenticated):
        await public.verify(token)
    # Nor is it a user token for auth's own user endpoints.
    assert (await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})).status_code == 401


async def test_http_basic_client_authentication_works(client):
    basic = base64.b64encode(b"payments:payments-secret-0123456789").decode()
    response = await client.post(
        "/api/v1/auth/token", data={"grant_type": "client_credentials"}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    assert jwt.decode(response.json()["access_token"], options={"verify_signature": False})["sub"] == "svc:payments"


@pytest.mark.parametrize(
    "form",
    [
        {"grant_type": "client_credentials", "client_id": "circles", "client_secret": "wrong"},
        {"grant_type": "client_credentials", "client_id": "nobody", "client_secret": SECRET},
        {"grant_type": "client_credentials", "client_id": "circles", "client_secret": ""},
    ],
)
async def test_bad_client_credentials_are_401(client, form):
    response = await ask(client, **form)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_other_grants_and_malformed_requests_are_400(client):
    password_grant = await ask(client, grant_type="password", username="a", password="b")
    assert password_grant.status_code == 400 and password_grant.json()["error"] == "unsupported_grant_type"
    repeated = await client.post(
        "/api/v1/auth/token",
        content=b"grant_type=client_credentials&client_id=a&client_id=b",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert repeated.status_code == 400
    garbage = await client.post(
        "/api/v1/auth/token", content=b"\xff\xfe", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert garbage.status_code == 400
