"""The gateway verifies bearer tokens itself; a refused request never reaches a service."""

from __future__ import annotations

import base64
import json
import time
import uuid

import jwt
import pytest
from cryptography.hazmat.primitives import serialization


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**overrides):
    now = int(time.time())
    claims = {
        "iss": "mcm-auth-test",
        "aud": "mcm-api-test",
        "sub": str(uuid.uuid4()),
        "sid": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + 900,
        "typ": "access",
        "roles": ["member"],
    }
    claims.update(overrides)
    return claims


def _bad_tokens(keys):
    now = int(time.time())
    stranger = keys.new_key(keys.current.kid)  # same kid, different key
    public_pem = keys.current.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {
        "signed by another key": keys.mint(key=stranger),
        "alg none": _b64({"alg": "none", "typ": "JWT", "kid": keys.current.kid}) + "." + _b64(_claims()) + ".",
        "HS256 with the public key as secret": _b64({"alg": "HS256", "kid": keys.current.kid})
        + "."
        + _b64(_claims())
        + "."
        + base64.urlsafe_b64encode(
            __import__("hmac")
            .new(
                public_pem, (_b64({"alg": "HS256", "kid": keys.current.kid}) + "." + _b64(_claims())).encode(), "sha256"
            )
            .digest()
        )
        .rstrip(b"=")
        .decode(),
        "expired": keys.mint(exp=now - 60, iat=now - 1000),
        "wrong audience": keys.mint(aud="someone-else"),
        "wrong issuer": keys.mint(iss="https://evil.example"),
        "missing kid": jwt.encode(_claims(), keys.current.private, algorithm="ES256"),
        "refresh type": keys.mint(typ="refresh"),
        "no type": keys.mint(typ=None),
        "unknown kid": keys.mint(key=keys.new_key("nobody-published-this")),
        "garbage": "not-a-jwt",
        "tampered payload": ".".join(
            [keys.mint().split(".")[0], _b64(_claims(roles=["admin"])), keys.mint().split(".")[2]]
        ),
    }


@pytest.fixture
def bad_tokens(keys):
    return _bad_tokens(keys)


@pytest.mark.parametrize(
    "case",
    [
        "signed by another key",
        "alg none",
        "HS256 with the public key as secret",
        "expired",
        "wrong audience",
        "wrong issuer",
        "missing kid",
        "refresh type",
        "no type",
        "unknown kid",
        "garbage",
        "tampered payload",
    ],
)
async def test_bad_tokens_get_401_and_reach_no_service(gateway, upstreams, bad_tokens, case):
    request_id = f"test-{uuid.uuid4().hex}"
    response = await gateway.client.get(
        "/api/v1/circles", headers={"Authorization": f"Bearer {bad_tokens[case]}", "X-Request-ID": request_id}
    )
    assert response.status_code == 401, case
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.json()["status"] == 401
    assert response.headers["x-request-id"] == request_id
    assert request_id.encode() not in upstreams["circles"].app.request_ids()


@pytest.mark.parametrize("authorization", [None, "", "Bearer", "Basic dXNlcjpwYXNz", "Token abc"])
async def test_missing_or_non_bearer_authorization_is_401(gateway, upstreams, authorization):
    headers = {"X-Request-ID": f"test-{uuid.uuid4().hex}"}
    if authorization is not None:
        headers["Authorization"] = authorization
    response = await gateway.client.post("/api/v1/circles", headers=headers, json={"name": "x"})
    assert response.status_code == 401
    assert response.json()["title"] == "Authentication required"
    assert headers["X-Request-ID"].encode() not in upstreams["circles"].app.request_ids()


async def test_a_valid_token_passes_and_authorization_is_forwarded_unchanged(gateway, token, forwarded):
    response = await gateway.client.get("/api/v1/circles", headers={"Authorization": f"bearer {token}"})
    assert response.status_code == 200
    assert forwarded(response)["authorization"] == [f"bearer {token}"]


async def test_a_cached_token_is_not_served_from_the_cache_past_its_exp(gateway, keys):
    now = int(time.time())
    token = keys.mint(exp=now + 2, iat=now)
    headers = {"Authorization": f"Bearer {token}"}
    authenticator = gateway.app.runtime.authenticator
    assert (await gateway.client.get("/api/v1/circles", headers=headers)).status_code == 200
    assert headers["Authorization"].encode() in authenticator._cache
    authenticator._clock = lambda: now + 3
    # Verified afresh (the verifier's own leeway decides), and not cached again.
    await gateway.client.get("/api/v1/circles", headers=headers)
    assert headers["Authorization"].encode() not in authenticator._cache


async def test_public_endpoints_pass_without_a_token(gateway, upstreams):
    for path in (
        "/api/v1/auth/login",
        "/api/v1/auth/register",
        "/api/v1/auth/refresh",
        "/api/v1/auth/token",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
    ):
        response = await gateway.client.post(path, json={})
        assert response.status_code == 200, path
        assert response.json()["upstream"] == "auth"
    webhook = await gateway.client.post(
        "/api/v1/payments/webhooks/stripe", content=b"{}", headers={"Stripe-Signature": "t=1,v1=ab"}
    )
    assert webhook.json()["upstream"] == "payments"
    oidc = await gateway.client.get("/api/v1/auth/oidc/google/callback?code=abc&state=xyz")
    assert oidc.json()["query"] == "code=abc&state=xyz"


async def test_basic_credentials_on_the_token_endpoint_pass_through(gateway, forwarded):
    response = await gateway.client.post(
        "/api/v1/auth/token", auth=("svc-circles", "secret"), data={"grant_type": "client_credentials"}
    )
    assert forwarded(response)["authorization"][0].startswith("Basic ")


async def test_a_key_published_after_start_is_fetched_on_first_use(start_gateway, keys):
    gateway = await start_gateway(jwks_refetch_cooldown_seconds=0)
    rotated = keys.new_key("k-rotated")
    keys.published.append(rotated)
    try:
        response = await gateway.client.get(
            "/api/v1/circles", headers={"Authorization": f"Bearer {keys.mint(key=rotated)}"}
        )
        assert response.status_code == 200
    finally:
        keys.published.remove(rotated)


async def test_a_cached_token_is_refused_once_its_key_is_withdrawn_from_the_jwks(start_gateway, keys):
    """A token verified (and cached) while its key was published stops working as soon as the
    gateway has refetched a key set without that key — e.g. auth withdrew a leaked key."""
    leaked = keys.new_key("k-leaked")
    keys.published.append(leaked)
    try:
        gateway = await start_gateway(server="uvicorn")
        headers = {"Authorization": f"Bearer {keys.mint(key=leaked)}"}
        assert (await gateway.client.get("/api/v1/circles", headers=headers)).status_code == 200
        assert (await gateway.client.get("/api/v1/circles", headers=headers)).status_code == 200  # from the cache
    finally:
        keys.published.remove(leaked)
    jwks = gateway.app.runtime.authenticator.verifier.keys
    assert await jwks.refresh()
    assert leaked.kid not in jwks.kids
    refused = await gateway.client.get("/api/v1/circles", headers=headers)
    assert refused.status_code == 401
    # Tokens signed by the keys still published are unaffected.
    assert (
        await gateway.client.get("/api/v1/circles", headers={"Authorization": f"Bearer {keys.mint()}"})
    ).status_code == 200


async def test_the_token_cache_is_bounded_and_holds_each_token_once(start_gateway, keys):
    gateway = await start_gateway(token_cache_size=3)
    for _ in range(5):
        assert (
            await gateway.client.get("/api/v1/circles", headers={"Authorization": f"Bearer {keys.mint()}"})
        ).status_code == 200
    authenticator = gateway.app.runtime.authenticator
    assert len(authenticator._cache) == 3
    assert not authenticator.verifier._verified  # not a second copy in the verifier's own cache
