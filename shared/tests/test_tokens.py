"""The shared token verifier: strict ES256 checks, the JWKS cache and the FastAPI dependencies.

Keys are generated here; the JWKS is served by a small aiohttp app on 127.0.0.1 so fetching,
refetching, rotation and outages go over a real socket. Time for the cache is a fake clock.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import httpx
import jwt
import pytest
from aiohttp import web
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from fastapi import Depends, FastAPI
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from mcm_shared.errors import PROBLEM_JSON, DependencyUnavailable, Unauthenticated, install_problem_handlers
from mcm_shared.logging import RequestContextMiddleware, user_id_var
from mcm_shared.security import (
    INVALID_TOKEN_DETAIL,
    CurrentPrincipal,
    JWKSCache,
    KeyNotCached,
    Principal,
    TokenVerifier,
    make_verifier,
    require_roles,
)
from mcm_shared.settings import BaseServiceSettings

ISSUER = "mcm-auth"
AUDIENCE = "mcm-api"
JWKS_PATH = "/.well-known/jwks.json"


# ---------------------------------------------------------------- keys, tokens, a JWKS server


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Signer:
    """An ES256 key pair with a kid, minting tokens shaped like auth's."""

    def __init__(self, kid: str | None = None) -> None:
        self.kid = kid or uuid.uuid4().hex[:12]
        self.key = ec.generate_private_key(ec.SECP256R1())

    @property
    def jwk(self) -> dict[str, Any]:
        jwk = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}

    @property
    def public_pem(self) -> bytes:
        return self.key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def token(self, *, drop: tuple[str, ...] = (), headers: dict[str, Any] | None = None, **overrides: Any) -> str:
        return jwt.encode(
            user_claims(drop=drop, **overrides),
            self.key,
            algorithm="ES256",
            headers={"kid": self.kid, "typ": "JWT", **(headers or {})},
        )


def user_claims(*, drop: tuple[str, ...] = (), **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 900,
        "jti": uuid.uuid4().hex,
        "sid": str(uuid.uuid4()),
        "roles": ["member"],
        "typ": "access",
    }
    claims.update(overrides)
    for name in drop:
        claims.pop(name)
    return claims


def compact(header: dict[str, Any], claims: dict[str, Any], sign: Callable[[bytes], bytes]) -> str:
    """A token assembled by hand, for shapes a well-behaved library refuses to produce."""
    signing_input = f"{b64url(json.dumps(header).encode())}.{b64url(json.dumps(claims).encode())}"
    return f"{signing_input}.{b64url(sign(signing_input.encode()))}"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class JwksServer:
    """auth's `GET /.well-known/jwks.json`, on 127.0.0.1, counting requests."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.status = 200
        self.hits = 0
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return self.base_url + JWKS_PATH

    def publish(self, *signers: Signer) -> None:
        self.jwks = {"keys": [signer.jwk for signer in signers]}

    async def _serve(self, request: web.Request) -> web.Response:
        self.hits += 1
        if self.status != 200:
            return web.json_response({"title": "broken"}, status=self.status)
        return web.json_response(self.jwks)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get(JWKS_PATH, self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", self.port))  # port 0 first; the same port again after stop()
        self.port = sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def server(signer: Signer) -> AsyncIterator[JwksServer]:
    jwks_server = JwksServer()
    jwks_server.publish(signer)
    await jwks_server.start()
    yield jwks_server
    await jwks_server.stop()


@pytest.fixture
async def keys(server: JwksServer, clock: FakeClock) -> AsyncIterator[JWKSCache]:
    cache = JWKSCache(server.url, cache_seconds=300, refetch_cooldown=10, timeout=2.0, clock=clock)
    yield cache
    await cache.aclose()


@pytest.fixture
def verifier(keys: JWKSCache) -> TokenVerifier:
    return TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)


async def wait_for(condition: Callable[[], bool]) -> None:
    """Let a background refresh finish (it only talks to the local server)."""
    for _ in range(200):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not reached")


# ---------------------------------------------------------------- accepted tokens


async def test_valid_user_token_is_fetched_over_http_and_becomes_the_principal(
    verifier: TokenVerifier, server: JwksServer, signer: Signer
) -> None:
    user_id, session_id = uuid.uuid4(), uuid.uuid4()
    token = signer.token(sub=str(user_id), sid=str(session_id), roles=["member", "facilitator"], jti="jti-1")

    principal = await verifier.verify(token)

    assert server.hits == 1
    assert principal == Principal(
        subject=str(user_id),
        user_id=user_id,
        roles=frozenset({"member", "facilitator"}),
        session_id=session_id,
        token_id="jti-1",
        expires_at=jwt.decode(token, options={"verify_signature": False})["exp"],
    )
    assert principal.has_role("admin", "facilitator")
    assert not principal.has_role("admin")
    assert not principal.is_service
    # Cached now: the second check does not go back to the server, and the sync path agrees.
    assert await verifier.verify(token) == principal
    assert verifier.verify_with_known_keys(token) == principal
    assert server.hits == 1


async def test_service_token_without_session_is_accepted_for_its_audience(
    server: JwksServer, signer: Signer, keys: JWKSCache
) -> None:
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=[AUDIENCE, "internal"])
    token = signer.token(sub="svc:payments", aud="internal", drop=("sid", "roles"))

    principal = await verifier.verify(token)

    assert principal.is_service
    assert principal.subject == "svc:payments"
    assert principal.user_id is None and principal.session_id is None
    assert principal.roles == frozenset()


async def test_token_with_a_list_audience_is_accepted_when_one_entry_matches(
    verifier: TokenVerifier, signer: Signer
) -> None:
    principal = await verifier.verify(signer.token(aud=["other-api", AUDIENCE]))
    assert principal.roles == {"member"}


async def test_small_clock_skew_is_tolerated(verifier: TokenVerifier, signer: Signer) -> None:
    now = int(time.time())
    # Issued "in the future" and expired a moment ago, both within the 10 s leeway.
    await verifier.verify(signer.token(iat=now + 5, nbf=now + 5, exp=now - 5))


# ---------------------------------------------------------------- rejected tokens


def _hs256_with_public_key(signer: Signer, other: Signer) -> str:
    header = {"alg": "HS256", "kid": signer.kid, "typ": "JWT"}
    return compact(header, user_claims(), lambda data: hmac.new(signer.public_pem, data, hashlib.sha256).digest())


def _rs256(signer: Signer, other: Signer) -> str:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(user_claims(), rsa_key, algorithm="RS256", headers={"kid": signer.kid})


def _noncanonical_signature(signer: Signer, other: Signer) -> str:
    # Same signature bytes, but the last character carries non-zero padding bits.
    token = signer.token()
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return token[:-1] + alphabet[alphabet.index(token[-1]) | 1]


def _tampered_payload(signer: Signer, other: Signer) -> str:
    header, _, signature = signer.token().split(".")
    return ".".join([header, b64url(json.dumps(user_claims(roles=["admin"])).encode()), signature])


def _es256_signature(signer: Signer) -> Callable[[bytes], bytes]:
    def sign(data: bytes) -> bytes:
        r, s = decode_dss_signature(signer.key.sign(data, ec.ECDSA(hashes.SHA256())))
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    return sign


def _crit_header(signer: Signer, other: Signer) -> str:
    return signer.token(headers={"crit": ["exp"], "exp": 1})


NOW = int(time.time())
REJECTED: dict[str, Callable[[Signer, Signer], str]] = {
    "signed by another key": lambda s, o: jwt.encode(user_claims(), o.key, algorithm="ES256", headers={"kid": s.kid}),
    "alg none": lambda s, o: compact({"alg": "none", "kid": s.kid}, user_claims(), lambda _: b""),
    "alg none with a stolen signature": lambda s, o: s.token().replace(
        s.token().split(".")[0], b64url(json.dumps({"alg": "none", "kid": s.kid}).encode())
    ),
    "HS256 with the public key as secret": _hs256_with_public_key,
    "RS256": _rs256,
    # Genuine ES256 signatures under a header naming another algorithm: the allow-list alone
    # must refuse them.
    "ES384 header, valid ES256 signature": lambda s, o: compact(
        {"alg": "ES384", "kid": s.kid}, user_claims(), _es256_signature(s)
    ),
    "HS256 header, valid ES256 signature": lambda s, o: compact(
        {"alg": "HS256", "kid": s.kid}, user_claims(), _es256_signature(s)
    ),
    "no alg, valid ES256 signature": lambda s, o: compact({"kid": s.kid}, user_claims(), _es256_signature(s)),
    "expired": lambda s, o: s.token(iat=NOW - 1000, exp=int(time.time()) - 11),
    "nbf in the future": lambda s, o: s.token(nbf=int(time.time()) + 60),
    "iat in the future": lambda s, o: s.token(iat=int(time.time()) + 60),
    "wrong aud": lambda s, o: s.token(aud="someone-else"),
    "aud list without ours": lambda s, o: s.token(aud=["a", "b"]),
    "wrong iss": lambda s, o: s.token(iss="https://evil.example"),
    "iss differs only by case": lambda s, o: s.token(iss=ISSUER.upper()),
    "missing kid": lambda s, o: jwt.encode(user_claims(), s.key, algorithm="ES256"),
    "kid not a string": lambda s, o: compact({"alg": "ES256", "kid": 7}, user_claims(), _es256_signature(s)),
    "empty kid": lambda s, o: s.token(headers={"kid": ""}),
    "typ refresh": lambda s, o: s.token(typ="refresh"),
    "missing iss": lambda s, o: s.token(drop=("iss",)),
    "missing aud": lambda s, o: s.token(drop=("aud",)),
    "missing sub": lambda s, o: s.token(drop=("sub",)),
    "missing exp": lambda s, o: s.token(drop=("exp",)),
    "missing iat": lambda s, o: s.token(drop=("iat",)),
    "missing jti": lambda s, o: s.token(drop=("jti",)),
    "missing typ": lambda s, o: s.token(drop=("typ",)),
    "user token without sid": lambda s, o: s.token(drop=("sid",)),
    "exp as a string": lambda s, o: s.token(exp=str(int(time.time()) + 900)),
    "exp as a boolean": lambda s, o: s.token(exp=True),
    "sub neither uuid nor service": lambda s, o: s.token(sub="admin"),
    "sub uuid not canonical": lambda s, o: s.token(sub=uuid.uuid4().hex),
    "malformed service name": lambda s, o: s.token(sub="svc:Pay Ments", drop=("sid",)),
    "roles not a list": lambda s, o: s.token(roles="admin"),
    "tampered payload": _tampered_payload,
    "non-canonical signature encoding": _noncanonical_signature,
    "unknown critical header": _crit_header,
    "garbage": lambda s, o: "garbage",
    "empty string": lambda s, o: "",
    "three empty segments": lambda s, o: "..",
    "random segments": lambda s, o: "a.b.c",
    "four segments": lambda s, o: s.token() + ".e30",
    "padded segments": lambda s, o: ".".join(part + "==" for part in s.token().split(".")),
    "non-ascii": lambda s, o: s.token()[:-1] + "é",
    "oversized": lambda s, o: s.token(pad="x" * 10_000),
}


def test_hand_built_es256_tokens_are_accepted(signer: Signer) -> None:
    """The builder used by the header cases above makes good tokens when the header is right."""
    keys = JWKSCache("http://127.0.0.1:9/unused", refetch_cooldown=1e9)
    keys.load({"keys": [signer.jwk]})
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    assert verifier.verify_with_known_keys(
        compact({"alg": "ES256", "kid": signer.kid}, user_claims(), _es256_signature(signer))
    )


@pytest.mark.parametrize("case", list(REJECTED))
async def test_token_is_rejected_with_a_generic_401(
    case: str, verifier: TokenVerifier, keys: JWKSCache, signer: Signer
) -> None:
    keys.load({"keys": [signer.jwk]})
    # The same signer's ordinary token passes, so each case fails for its own defect only.
    await verifier.verify(signer.token())
    token = REJECTED[case](signer, Signer())

    with pytest.raises(Unauthenticated) as raised:
        await verifier.verify(token)
    assert type(raised.value) is Unauthenticated
    assert raised.value.detail == INVALID_TOKEN_DETAIL
    assert raised.value.headers["WWW-Authenticate"].startswith("Bearer")
    with pytest.raises(Unauthenticated):
        verifier.verify_with_known_keys(token)


async def test_revoked_session_is_rejected(keys: JWKSCache, signer: Signer) -> None:
    revoked_session = uuid.uuid4()
    verifier = TokenVerifier(
        keys, issuer=ISSUER, audience=AUDIENCE, is_revoked=lambda p: p.session_id == revoked_session
    )

    await verifier.verify(signer.token())
    with pytest.raises(Unauthenticated) as raised:
        await verifier.verify(signer.token(sid=str(revoked_session)))
    assert raised.value.detail == INVALID_TOKEN_DETAIL


async def test_wrong_typ_is_rejected_but_the_configured_type_is_accepted(keys: JWKSCache, signer: Signer) -> None:
    refresh_verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, token_type="refresh")
    assert (await refresh_verifier.verify(signer.token(typ="refresh"))).token_id
    with pytest.raises(Unauthenticated):
        await refresh_verifier.verify(signer.token())


# ---------------------------------------------------------------- JWKS cache behaviour


async def test_unknown_kid_refetches_once_and_the_cooldown_blocks_a_second_refetch(
    verifier: TokenVerifier, server: JwksServer, signer: Signer, clock: FakeClock
) -> None:
    await verifier.verify(signer.token())
    assert server.hits == 1

    clock.advance(11)  # past the cooldown of the first fetch
    stranger = Signer()
    with pytest.raises(Unauthenticated) as raised:
        await verifier.verify(stranger.token())
    assert type(raised.value) is Unauthenticated
    assert server.hits == 2  # one refetch, and the kid is still unknown

    clock.advance(5)  # inside the 10 s cooldown: another unknown kid costs no request
    with pytest.raises(Unauthenticated):
        await verifier.verify(Signer().token())
    assert server.hits == 2

    clock.advance(6)  # cooldown over, but a token without a kid never causes a fetch
    with pytest.raises(Unauthenticated):
        await verifier.verify(jwt.encode(user_claims(), signer.key, algorithm="ES256"))
    assert server.hits == 2

    with pytest.raises(Unauthenticated):  # the next unknown kid may refetch again
        await verifier.verify(Signer().token())
    assert server.hits == 3


async def test_concurrent_requests_with_a_new_kid_share_one_fetch(
    verifier: TokenVerifier, server: JwksServer, signer: Signer
) -> None:
    tokens = [signer.token() for _ in range(20)]
    principals = await asyncio.gather(*(verifier.verify(token) for token in tokens))
    assert len({p.token_id for p in principals}) == 20
    assert server.hits == 1


async def test_known_keys_path_raises_key_not_cached_without_touching_the_network(
    verifier: TokenVerifier, keys: JWKSCache, server: JwksServer, signer: Signer
) -> None:
    with pytest.raises(KeyNotCached) as raised:
        verifier.verify_with_known_keys(signer.token())
    assert raised.value.kid == signer.kid
    assert raised.value.status == 401  # uncaught, it is still a clean 401

    # The gateway's fallback: the async path fetches, after which the fast path knows the key.
    principal = await verifier.verify(signer.token())
    assert verifier.verify_with_known_keys(signer.token(sub=principal.subject)).subject == principal.subject
    assert server.hits == 1


async def test_last_good_keys_keep_verifying_while_the_jwks_server_is_down(
    verifier: TokenVerifier, keys: JWKSCache, server: JwksServer, signer: Signer, clock: FakeClock
) -> None:
    await verifier.verify(signer.token())
    await server.stop()
    clock.advance(301)  # the cached set is stale: a refresh is due, and it will fail

    assert (await verifier.verify(signer.token())).roles == {"member"}
    await wait_for(lambda: keys.last_fetch_failed)
    assert verifier.verify_with_known_keys(signer.token()).roles == {"member"}
    assert keys.kids == {signer.kid}

    # A kid we have never seen cannot be judged while auth is unreachable: 503, not 401.
    clock.advance(11)
    with pytest.raises(DependencyUnavailable):
        await verifier.verify(Signer().token())
    assert (await verifier.verify(signer.token())).user_id is not None


async def test_after_a_failed_fetch_an_unknown_kid_is_retried_within_a_second(
    verifier: TokenVerifier, server: JwksServer, signer: Signer, clock: FakeClock
) -> None:
    # Services start together: the first fetch can fail while auth is still starting.
    server.status = 503
    with pytest.raises(DependencyUnavailable):
        await verifier.verify(signer.token())
    assert server.hits == 1

    server.status = 200
    clock.advance(0.5)  # still inside the short retry window after a failure
    with pytest.raises(DependencyUnavailable):
        await verifier.verify(signer.token())
    assert server.hits == 1

    clock.advance(0.6)  # well inside the normal 10 s cooldown, but past the failure retry window
    assert (await verifier.verify(signer.token())).roles == {"member"}
    assert server.hits == 2


async def test_error_responses_and_unusable_key_sets_do_not_replace_good_keys(
    verifier: TokenVerifier, keys: JWKSCache, server: JwksServer, signer: Signer, clock: FakeClock
) -> None:
    await verifier.verify(signer.token())

    server.status = 500
    assert await keys.refresh() is False
    server.status = 200
    server.jwks = {"keys": []}
    assert await keys.refresh() is False
    server.jwks = {"keys": [{"kty": "oct", "kid": signer.kid, "k": b64url(signer.public_pem)}]}
    assert await keys.refresh() is False

    assert server.hits == 4
    assert (await verifier.verify(signer.token())).session_id is not None


async def test_rotated_key_is_picked_up_and_retired_key_stops_verifying(
    verifier: TokenVerifier, keys: JWKSCache, server: JwksServer, signer: Signer, clock: FakeClock
) -> None:
    await verifier.verify(signer.token())
    newer = Signer()
    server.publish(signer, newer)  # auth rotates: the new kid signs, the old one stays published
    clock.advance(11)

    assert (await verifier.verify(newer.token())).roles == {"member"}
    assert server.hits == 2
    assert (await verifier.verify(signer.token())).roles == {"member"}

    server.publish(newer)  # the old key's tokens have all expired; auth stops publishing it
    clock.advance(301)
    verifier.verify_with_known_keys(newer.token())  # stale: the hot path schedules a refresh
    await wait_for(lambda: server.hits == 3)
    await wait_for(lambda: keys.kids == {newer.kid})

    with pytest.raises(Unauthenticated):
        await verifier.verify(signer.token())
    assert verifier.verify_with_known_keys(newer.token()).roles == {"member"}


async def test_a_token_already_verified_is_not_signature_checked_again(
    verifier: TokenVerifier, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    checks = []
    original = ECAlgorithm.verify
    monkeypatch.setattr(ECAlgorithm, "verify", lambda self, *args: checks.append(1) or original(self, *args))
    token = signer.token()
    first = await verifier.verify(token)
    assert await verifier.verify(token) == first
    assert verifier.verify_with_known_keys(token) == first
    assert len(checks) == 1


async def test_a_remembered_token_is_refused_once_its_session_is_revoked(keys: JWKSCache, signer: Signer) -> None:
    revoked: set[uuid.UUID] = set()
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE, is_revoked=lambda p: p.session_id in revoked)
    token = signer.token()
    principal = await verifier.verify(token)
    revoked.add(principal.session_id)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await verifier.verify(token)


async def test_a_remembered_token_still_expires(
    verifier: TokenVerifier, signer: Signer, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    token = signer.token(exp=int(now) + 5)
    await verifier.verify(token)
    monkeypatch.setattr("mcm_shared.security.verifier.time.time", lambda: now + 5 + verifier.leeway + 1)
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_a_remembered_token_stops_working_when_its_key_is_retired(
    verifier: TokenVerifier, keys: JWKSCache, server: JwksServer, signer: Signer, clock: FakeClock
) -> None:
    token = signer.token()
    await verifier.verify(token)
    newer = Signer()
    server.publish(newer)
    clock.advance(301)
    verifier.verify_with_known_keys(token)  # stale set: a refresh starts, the token is still good
    await wait_for(lambda: keys.kids == {newer.kid})
    with pytest.raises(Unauthenticated):
        await verifier.verify(token)


async def test_load_keeps_only_es256_public_signing_keys(keys: JWKSCache, signer: Signer) -> None:
    rsa_jwk = {
        **RSAAlgorithm.to_jwk(
            rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key(), as_dict=True
        ),
        "kid": "rsa",
    }
    p384_jwk = {**ECAlgorithm.to_jwk(ec.generate_private_key(ec.SECP384R1()).public_key(), as_dict=True), "kid": "p384"}
    with_private_part = {**ECAlgorithm.to_jwk(signer.key, as_dict=True), "kid": "private"}
    jwks = {
        "keys": [
            rsa_jwk,
            p384_jwk,
            with_private_part,
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {**Signer("enc").jwk, "use": "enc"},
            {**Signer("rs").jwk, "alg": "RS256"},
            {key: value for key, value in Signer().jwk.items() if key != "kid"},
            {**Signer("bad-point").jwk, "y": b64url(b"\x01" * 32)},
            "not-an-object",
            signer.jwk,
        ]
    }
    keys.load(jwks)
    assert keys.kids == {signer.kid}

    with pytest.raises(ValueError):
        keys.load({"keys": [rsa_jwk]})
    with pytest.raises(ValueError):
        keys.load({"no": "keys"})
    assert keys.kids == {signer.kid}


async def test_seeded_cache_with_long_cooldown_never_fetches(signer: Signer) -> None:
    # How auth verifies its own tokens: keys loaded directly, the URL is never used.
    keys = JWKSCache("http://127.0.0.1:9/unused", cache_seconds=1e9, refetch_cooldown=1e9)
    keys.load({"keys": [signer.jwk]})
    verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    try:
        assert (await verifier.verify(signer.token())).roles == {"member"}
        with pytest.raises(Unauthenticated) as raised:
            await verifier.verify(Signer().token())
        assert type(raised.value) is Unauthenticated
        assert not keys.last_fetch_failed
    finally:
        await verifier.aclose()


async def test_make_verifier_fetches_from_auth_url_in_settings(server: JwksServer, signer: Signer) -> None:
    settings = BaseServiceSettings(
        auth_url=server.base_url + "/", jwt_issuer=ISSUER, jwt_audience=AUDIENCE, jwks_refetch_cooldown_seconds=0
    )
    verifier = make_verifier(settings, audience=[AUDIENCE, "internal"])
    try:
        assert verifier.keys.jwks_url == server.url
        assert verifier.audiences == {AUDIENCE, "internal"}
        assert (await verifier.verify(signer.token())).roles == {"member"}
        assert server.hits == 1
    finally:
        await verifier.keys.aclose()


# ---------------------------------------------------------------- FastAPI dependencies


@pytest.fixture
async def api(signer: Signer, clock: FakeClock) -> AsyncIterator[httpx.AsyncClient]:
    keys = JWKSCache("http://127.0.0.1:9/unused", refetch_cooldown=1e9, clock=clock)
    keys.load({"keys": [signer.jwk]})
    app = FastAPI()
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    app.state.verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)

    @app.get("/me")
    async def me(principal: CurrentPrincipal) -> dict[str, Any]:
        return {"subject": principal.subject, "logged_as": user_id_var.get()}

    @app.get("/admin", dependencies=[Depends(require_roles("admin"))])
    async def admin_only() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/staff")
    async def staff(
        principal: Annotated[Principal, Depends(require_roles("admin", "event_staff"))],
    ) -> dict[str, list[str]]:
        return {"roles": sorted(principal.roles)}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client
    await keys.aclose()


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc", "Bearer garbage", "Bearer a.b.c"],
)
async def test_missing_or_bad_authorization_header_is_a_401_problem(
    api: httpx.AsyncClient, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await api.get("/me", headers=headers)
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("scheme", ["Token", "Basic", "JWT", ""])
async def test_a_good_token_under_another_scheme_is_a_401(api: httpx.AsyncClient, signer: Signer, scheme: str) -> None:
    assert (await api.get("/me", headers={"Authorization": f"Bearer {signer.token()}"})).status_code == 200
    assert_problem(await api.get("/me", headers={"Authorization": f"{scheme} {signer.token()}"}), 401)


async def test_expired_token_gets_the_same_401_as_garbage(api: httpx.AsyncClient, signer: Signer) -> None:
    expired = signer.token(iat=NOW - 2000, exp=int(time.time()) - 60)
    first = assert_problem(await api.get("/me", headers={"Authorization": f"Bearer {expired}"}), 401)
    second = assert_problem(await api.get("/me", headers={"Authorization": "Bearer nonsense"}), 401)
    assert first["detail"] == second["detail"] == INVALID_TOKEN_DETAIL


async def test_valid_token_reaches_the_route_and_tags_the_logs_with_the_user(
    api: httpx.AsyncClient, signer: Signer
) -> None:
    user_id = str(uuid.uuid4())
    response = await api.get("/me", headers={"Authorization": f"bearer {signer.token(sub=user_id)}"})
    assert response.status_code == 200
    assert response.json() == {"subject": user_id, "logged_as": user_id}
    assert user_id_var.get() is None  # reset once the request is over


async def test_require_roles_answers_403_without_the_role_and_200_with_any_of_them(
    api: httpx.AsyncClient, signer: Signer
) -> None:
    member = {"Authorization": f"Bearer {signer.token(roles=['member'])}"}
    assert_problem(await api.get("/admin", headers=member), 403)
    assert_problem(await api.get("/staff", headers=member), 403)

    admin = {"Authorization": f"Bearer {signer.token(roles=['admin'])}"}
    assert (await api.get("/admin", headers=admin)).json() == {"ok": True}
    staff = {"Authorization": f"Bearer {signer.token(roles=['member', 'event_staff'])}"}
    assert (await api.get("/staff", headers=staff)).json() == {"roles": ["event_staff", "member"]}

    assert_problem(await api.get("/admin"), 401)  # no token at all is still 401, not 403


async def test_openapi_declares_the_bearer_scheme(api: httpx.AsyncClient) -> None:
    document = (await api.get("/openapi.json")).json()
    assert document["components"]["securitySchemes"]["BearerToken"]["scheme"] == "bearer"
    assert {"BearerToken": []} in document["paths"]["/me"]["get"]["security"]


def test_principal_roles_are_any_of() -> None:
    principal = Principal("svc:circles", None, frozenset({"service"}), None, "j", 0)
    assert principal.is_service
    assert principal.has_role("x", "service")
    assert not principal.has_role()
