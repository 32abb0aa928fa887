"""The walking skeleton: register, sign in, read my account, JWKS, token format."""

from __future__ import annotations

import base64
import time
import uuid

import jwt

from .conftest import PASSWORD, bearer, login, new_email, register, signed_up


async def test_register_then_login_then_me(client):
    email = await register(client, name="  Alex  ")
    tokens = await login(client, email)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 900
    me = await client.get("/api/v1/auth/me", headers=bearer(tokens))
    assert me.status_code == 200
    body = me.json()
    assert body["email"] == email
    assert body["display_name"] == "Alex"
    assert body["roles"] == ["member"]
    assert body["email_verified"] is False


async def test_register_answers_201_with_no_account_details(client):
    response = await client.post(
        "/api/v1/auth/register", json={"email": new_email(), "password": PASSWORD, "display_name": "Sam"}
    )
    assert response.status_code == 201
    assert set(response.json()) == {"status", "detail"}


async def test_access_token_has_exactly_the_documented_claims(client):
    _, tokens = await signed_up(client)
    header = jwt.get_unverified_header(tokens["access_token"])
    assert header["alg"] == "ES256"
    assert header["kid"]
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert set(claims) == {"iss", "aud", "sub", "exp", "iat", "jti", "sid", "roles", "typ"}
    assert claims["typ"] == "access"
    assert claims["iss"] == "mcm-auth" and claims["aud"] == "mcm-api"
    assert claims["exp"] - claims["iat"] == 900
    uuid.UUID(claims["sub"])
    uuid.UUID(claims["sid"])
    assert abs(claims["iat"] - time.time()) < 5


async def test_access_token_verifies_against_the_published_jwks(client):
    _, tokens = await signed_up(client)
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert "max-age=" in response.headers["cache-control"]
    jwks = response.json()
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    entry = next(key for key in jwks["keys"] if key["kid"] == kid)
    assert entry["kty"] == "EC" and entry["crv"] == "P-256" and entry["alg"] == "ES256"
    assert "d" not in entry
    key = jwt.PyJWK(entry)
    claims = jwt.decode(tokens["access_token"], key.key, algorithms=["ES256"], audience="mcm-api", issuer="mcm-auth")
    assert claims["typ"] == "access"


async def test_refresh_token_is_opaque_and_stored_only_hashed(client):
    _, tokens = await signed_up(client)
    refresh = tokens["refresh_token"]
    assert len(base64.urlsafe_b64decode(refresh + "=" * (-len(refresh) % 4))) == 32
    async with client.app.state.db.session() as session:
        from sqlalchemy import text

        found = await session.scalar(
            text("SELECT count(*) FROM auth.refresh_tokens WHERE token_hash = :t"), {"t": refresh}
        )
    assert found == 0


async def test_wrong_password_is_refused(client):
    email = await register(client)
    response = await client.post("/api/v1/auth/login", json={"email": email, "password": "wrong password!"})
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


async def test_passwords_sharing_the_first_72_bytes_are_different_passwords(client):
    prefix = "p" * 72
    email = await register(client, password=prefix + "-first")
    ok = await client.post("/api/v1/auth/login", json={"email": email, "password": prefix + "-first"})
    assert ok.status_code == 200
    other = await client.post("/api/v1/auth/login", json={"email": email, "password": prefix + "-second"})
    assert other.status_code == 401


async def test_me_needs_a_valid_bearer_token(client):
    assert (await client.get("/api/v1/auth/me")).status_code == 401
    garbage = await client.get("/api/v1/auth/me", headers={"Authorization": "Bearer not.a.token"})
    assert garbage.status_code == 401
    assert garbage.headers["content-type"].startswith("application/problem+json")


async def test_token_signed_with_a_foreign_key_is_refused(client):
    _, tokens = await signed_up(client)
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    kid = jwt.get_unverified_header(tokens["access_token"])["kid"]
    from cryptography.hazmat.primitives.asymmetric import ec

    forged = jwt.encode(claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": kid})
    response = await client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {forged}"})
    assert response.status_code == 401


async def test_health_ready_reports_database_redis_and_migrations(client):
    response = await client.get("/api/v1/health/ready")
    assert response.status_code == 200, response.text
    assert set(response.json()["checks"]) >= {"database", "redis", "migrations"}
