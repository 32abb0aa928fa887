"""Strict access-token validation, at the gateway and at every service directly (each service
must verify on its own: a request that bypasses the gateway gets no more trust).

Forgeries are built from a real user's token: signed by another key, `alg: none`, HS256 keyed
with auth's public key, and — signed with auth's REAL key, read from the platform's key
directory — tokens that are expired, not yet valid, for another audience or issuer, of another
`typ`, without `kid`, etc. A correctly signed control token must pass, so the forging machinery
itself is tested. Every refusal is 401 application/problem+json with `WWW-Authenticate: Bearer`.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from seckit import (
    WHO_AM_I,
    Accounts,
    User,
    assert_problem,
    b64url,
    b64url_json,
    bearer,
    claims_like,
    client,
    compact,
    describe,
    es256_sign,
    hs256_signer,
    signing_key,
)

from mcm_testing.issuer import TestIssuer

TARGETS = [("gateway", service) for service in WHO_AM_I] + [(service, service) for service in WHO_AM_I]
TARGET_IDS = [f"{via}->{service}" if via == "gateway" else f"direct-{service}" for via, service in TARGETS]


class Forge:
    """Builds tokens around a real user's claims."""

    def __init__(self, platform, user: User) -> None:
        self.kid, self.key = signing_key(platform)
        self.real = user.token
        self.base = claims_like(user.token)
        self.public_pem = self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        jwks = httpx.get(platform.url("auth") + "/.well-known/jwks.json", timeout=10).json()
        self.public_jwk = next(key for key in jwks["keys"] if key["kid"] == self.kid)

    def claims(self, **changes: Any) -> dict[str, Any]:
        now = int(time.time())
        claims = {**self.base, "iat": now, "exp": now + 600, "jti": uuid.uuid4().hex}
        for name, value in changes.items():
            if value is _DROP:
                claims.pop(name, None)
            else:
                claims[name] = value
        return claims

    def real_key(self, header: dict[str, Any] | None = None, **changes: Any) -> str:
        head = {"alg": "ES256", "typ": "JWT", "kid": self.kid} if header is None else header
        return compact(head, self.claims(**changes), lambda data: es256_sign(data, self.key))


_DROP = object()


def _other_key_same_kid(f: Forge) -> str:
    other = ec.generate_private_key(ec.SECP256R1())
    return compact({"alg": "ES256", "typ": "JWT", "kid": f.kid}, f.claims(), lambda data: es256_sign(data, other))


def _other_key_unknown_kid(f: Forge) -> str:
    # The shared test issuer: a well-formed token for this very user and session, by a stranger's key.
    return TestIssuer().token(f.base["sub"], roles=f.base["roles"], session_id=uuid.UUID(f.base["sid"]))


def _tampered_roles(f: Forge) -> str:
    header, _, signature = f.real.split(".")
    return f"{header}.{b64url_json({**f.base, 'roles': ['member', 'admin']})}.{signature}"


def _header_swapped_to_none(f: Forge) -> str:
    _, payload, _ = f.real.split(".")
    return f"{b64url_json({'alg': 'none', 'typ': 'JWT', 'kid': f.kid})}.{payload}."


FORGERIES: dict[str, Callable[[Forge], str]] = {
    "signed by another key, real kid": _other_key_same_kid,
    "signed by another key, unknown kid": _other_key_unknown_kid,
    "alg none": lambda f: compact({"alg": "none", "typ": "JWT", "kid": f.kid}, f.claims()),
    "alg None, signature kept": lambda f: compact(
        {"alg": "None", "kid": f.kid}, f.claims(), lambda data: f.real.split(".")[2]
    ),
    "real token with header swapped to alg none": _header_swapped_to_none,
    "HS256 keyed with the public key PEM": lambda f: compact(
        {"alg": "HS256", "typ": "JWT", "kid": f.kid}, f.claims(), hs256_signer(f.public_pem)
    ),
    "HS256 keyed with the public JWK": lambda f: compact(
        {"alg": "HS256", "typ": "JWT", "kid": f.kid}, f.claims(), hs256_signer(json.dumps(f.public_jwk).encode())
    ),
    "ES384 header on an ES256 signature": lambda f: f.real_key({"alg": "ES384", "typ": "JWT", "kid": f.kid}),
    "payload tampered (roles: admin)": _tampered_roles,
    "signature stripped": lambda f: f.real.rsplit(".", 1)[0] + ".",
    "expired (real key)": lambda f: f.real_key(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "not valid yet: nbf in an hour (real key)": lambda f: f.real_key(nbf=int(time.time()) + 3600),
    "issued in the future (real key)": lambda f: f.real_key(iat=int(time.time()) + 3600, exp=int(time.time()) + 7200),
    "no exp (real key)": lambda f: f.real_key(exp=_DROP),
    "exp as a string (real key)": lambda f: f.real_key(exp=str(int(time.time()) + 600)),
    "wrong audience (real key)": lambda f: f.real_key(aud="mcm-admin-console"),
    "internal audience on a user route (real key)": lambda f: f.real_key(aud="internal"),
    "audience list without ours (real key)": lambda f: f.real_key(aud=["other-api", "internal"]),
    "no audience (real key)": lambda f: f.real_key(aud=_DROP),
    "wrong issuer (real key)": lambda f: f.real_key(iss="https://evil.example"),
    "no issuer (real key)": lambda f: f.real_key(iss=_DROP),
    "typ refresh (real key)": lambda f: f.real_key(typ="refresh"),
    "typ id (real key)": lambda f: f.real_key(typ="id"),
    "no typ (real key)": lambda f: f.real_key(typ=_DROP),
    "no kid (real key)": lambda f: f.real_key({"alg": "ES256", "typ": "JWT"}),
    "kid not a string (real key)": lambda f: f.real_key({"alg": "ES256", "typ": "JWT", "kid": 1}),
    "crit header (real key)": lambda f: f.real_key({"alg": "ES256", "typ": "JWT", "kid": f.kid, "crit": ["exp"]}),
    "subject not a uuid (real key)": lambda f: f.real_key(sub="admin"),
    "no session id (real key)": lambda f: f.real_key(sid=_DROP),
    "roles not a list (real key)": lambda f: f.real_key(roles="admin"),
    "garbage": lambda f: "garbage",
    "three dots of nothing": lambda f: "..",
    "base64 junk": lambda f: "eyJhbGciOiJFUzI1NiJ9.%%%%.@@@@",
    "header not json": lambda f: f"{b64url(b'not json')}.{f.real.split('.')[1]}.{f.real.split('.')[2]}",
    "header is a list": lambda f: f"{b64url_json(['ES256'])}.{f.real.split('.')[1]}.{f.real.split('.')[2]}",
    "payload not an object (real key)": lambda f: (lambda si: f"{si}.{es256_sign(si.encode(), f.key)}")(
        f"{b64url_json({'alg': 'ES256', 'kid': f.kid})}.{b64url_json([1, 2, 3])}"
    ),
    "four segments": lambda f: f.real + ".AAAA",
    "oversized (20 kB)": lambda f: f.real + "A" * 20_000,
    "non-ascii": lambda f: f.real[:-2] + "\u00e9",
}
OVERSIZED = {"oversized (20 kB)"}


@pytest.fixture(scope="module")
def member(accounts: Accounts) -> User:
    return accounts.create(prefix="jwt")


@pytest.fixture(scope="module")
def forge(platform, member: User) -> Forge:
    return Forge(platform, member)


def _call(platform, via: str, service: str, authorization: str | None) -> httpx.Response:
    # Bytes, so a non-ASCII token goes on the wire as it is (obs-text) instead of failing here.
    headers = {"Authorization": authorization.encode("utf-8")} if authorization is not None else {}
    with client(platform.url(via)) as http:
        return http.get(WHO_AM_I[service], headers=headers)


@pytest.mark.parametrize(("via", "service"), TARGETS, ids=TARGET_IDS)
def test_control_tokens_are_accepted(platform, member: User, forge: Forge, via: str, service: str):
    """The real token and a correctly forged copy (real key, fresh jti) pass: the refusals below
    are about what was changed, not about the forging."""
    for token in (member.token, forge.real_key()):
        response = _call(platform, via, service, f"Bearer {token}")
        assert response.status_code == 200, describe(response)


@pytest.mark.parametrize(("via", "service"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize("forgery", list(FORGERIES))
def test_forged_or_invalid_tokens_are_refused(platform, forge: Forge, forgery: str, via: str, service: str):
    token = FORGERIES[forgery](forge)
    response = _call(platform, via, service, f"Bearer {token}")
    if forgery in OVERSIZED and response.status_code == 431:
        assert_problem(response, 431)  # refused earlier, as too large a header: as good
        return
    assert_problem(response, 401)
    assert response.headers.get("www-authenticate", "").lower().startswith("bearer"), describe(response)


@pytest.mark.parametrize(("via", "service"), TARGETS, ids=TARGET_IDS)
@pytest.mark.parametrize(
    "authorization",
    ["", "Bearer", "Basic dXNlcjpwYXNz", "Token abc", "bearer", "Bearer  a.b.c"],
    ids=["empty", "scheme-only", "basic", "other-scheme", "lower-scheme-only", "double-space"],
)
def test_missing_or_malformed_authorization_headers_are_401(platform, via: str, service: str, authorization: str):
    response = _call(platform, via, service, authorization)
    assert_problem(response, 401)


@pytest.mark.parametrize(("via", "service"), TARGETS, ids=TARGET_IDS)
def test_no_token_is_401(platform, via: str, service: str):
    assert_problem(_call(platform, via, service, None), 401)


def test_a_signed_out_session_is_refused_through_the_gateway_within_a_second(platform, accounts: Accounts):
    """ARCHITECTURE §4: logout revokes the session; the gateway rejects its access tokens within 1 s."""
    user = accounts.create(prefix="revoked")
    token = user.token
    with client(platform.url("gateway")) as http:
        for service in WHO_AM_I:
            assert http.get(WHO_AM_I[service], headers=bearer(token)).status_code == 200
        assert http.post("/api/v1/auth/logout", headers=bearer(token)).status_code == 204
        time.sleep(1.0)
        for service in WHO_AM_I:
            response = http.get(WHO_AM_I[service], headers=bearer(token))
            assert response.status_code == 401, f"revoked session still accepted: {describe(response)}"
