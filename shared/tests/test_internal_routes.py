"""Internal routes (`require_service`) and user routes keep their tokens apart.

Both kinds of token are signed with the same key here, as auth does: only the audience and the
subject tell them apart, and each kind of route must refuse the other kind.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Depends, FastAPI
from jwt.algorithms import ECAlgorithm

from mcm_shared.errors import PROBLEM_JSON, install_problem_handlers
from mcm_shared.security import (
    CurrentPrincipal,
    JWKSCache,
    Principal,
    TokenVerifier,
    internal_verifier,
    require_service,
)

ISSUER, AUDIENCE = "mcm-auth", "mcm-api"


class Signer:
    def __init__(self) -> None:
        self.kid = uuid.uuid4().hex[:12]
        self.key = ec.generate_private_key(ec.SECP256R1())

    @property
    def jwks(self) -> dict[str, Any]:
        jwk = ECAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig", "alg": "ES256"}]}

    def token(self, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": str(uuid.uuid4()),
            "sid": str(uuid.uuid4()),
            "iat": now,
            "exp": now + 300,
            "jti": uuid.uuid4().hex,
            "roles": ["admin"],
            "typ": "access",
        }
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, self.key, algorithm="ES256", headers={"kid": self.kid})

    def service_token(self, name: str, **overrides: Any) -> str:
        return self.token(**{"sub": f"svc:{name}", "aud": "internal", "sid": None, "roles": [], **overrides})


@pytest.fixture
def signer() -> Signer:
    return Signer()


@pytest.fixture
async def api(signer: Signer) -> AsyncIterator[httpx.AsyncClient]:
    keys = JWKSCache("http://127.0.0.1:9/unused", refetch_cooldown=1e9)
    keys.load(signer.jwks)
    app = FastAPI()
    install_problem_handlers(app)
    # What mcm_shared.wiring.verifier_hook sets up: one key cache, two audiences.
    app.state.verifier = TokenVerifier(keys, issuer=ISSUER, audience=AUDIENCE)
    app.state.internal_verifier = internal_verifier(app.state.verifier)

    @app.get("/internal/v1/ping")
    async def ping(caller: Principal = Depends(require_service("auth", "payments"))) -> dict[str, str]:  # noqa: B008
        return {"caller": caller.subject}

    @app.get("/api/v1/me")
    async def me(principal: CurrentPrincipal) -> dict[str, str]:
        return {"subject": principal.subject}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client
    await keys.aclose()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    return body


async def test_an_allowed_service_token_reaches_the_internal_route(api: httpx.AsyncClient, signer: Signer) -> None:
    for name in ("auth", "payments"):
        response = await api.get("/internal/v1/ping", headers=auth(signer.service_token(name)))
        assert response.status_code == 200
        assert response.json() == {"caller": f"svc:{name}"}


async def test_no_token_or_a_bad_one_is_401(api: httpx.AsyncClient, signer: Signer) -> None:
    problem(await api.get("/internal/v1/ping"), 401)
    problem(await api.get("/internal/v1/ping", headers=auth("garbage")), 401)
    expired = signer.service_token("auth", iat=int(time.time()) - 1000, exp=int(time.time()) - 100)
    problem(await api.get("/internal/v1/ping", headers=auth(expired)), 401)
    # Signed by a key auth never published.
    problem(await api.get("/internal/v1/ping", headers=auth(Signer().service_token("auth"))), 401)


async def test_a_user_token_is_refused_on_an_internal_route_with_403(api: httpx.AsyncClient, signer: Signer) -> None:
    body = problem(await api.get("/internal/v1/ping", headers=auth(signer.token(roles=["admin"]))), 403)
    assert "services" in body["detail"]


async def test_a_user_audience_token_with_a_service_subject_is_refused_on_an_internal_route(
    api: httpx.AsyncClient, signer: Signer
) -> None:
    # The audience is what makes a token internal; a service-looking subject does not.
    token = signer.token(sub="svc:auth", aud=AUDIENCE, sid=None)
    problem(await api.get("/internal/v1/ping", headers=auth(token)), 403)


async def test_an_internal_token_with_a_user_subject_is_refused(api: httpx.AsyncClient, signer: Signer) -> None:
    token = signer.token(aud="internal")
    problem(await api.get("/internal/v1/ping", headers=auth(token)), 403)


async def test_another_service_is_refused_with_403(api: httpx.AsyncClient, signer: Signer) -> None:
    body = problem(await api.get("/internal/v1/ping", headers=auth(signer.service_token("circles"))), 403)
    assert "service" in body["detail"]


async def test_an_internal_token_is_refused_on_a_user_route(api: httpx.AsyncClient, signer: Signer) -> None:
    problem(await api.get("/api/v1/me", headers=auth(signer.service_token("auth"))), 401)
    # A token listing both audiences is still a service's, never a user's.
    both = signer.service_token("auth", aud=[AUDIENCE, "internal"])
    problem(await api.get("/api/v1/me", headers=auth(both)), 403)
    assert (await api.get("/api/v1/me", headers=auth(signer.token()))).status_code == 200


def test_require_service_needs_a_caller() -> None:
    with pytest.raises(ValueError, match="at least one"):
        require_service()
