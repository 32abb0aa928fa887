"""The shared verifier of every service consults revoked sessions (mcm_shared.wiring.verifier_hook),
and the bearer dependency refuses more than one Authorization header."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import APIRouter

from mcm_shared.app import create_service_app
from mcm_shared.redis import make_redis
from mcm_shared.revocation import publish_revocation
from mcm_shared.security import CurrentPrincipal
from mcm_shared.settings import BaseServiceSettings
from mcm_shared.wiring import redis_hook, verifier_hook

from .test_tokens import AUDIENCE, ISSUER, JwksServer, Signer

router = APIRouter()


@router.get("/api/v1/whoami")
async def whoami(principal: CurrentPrincipal) -> dict[str, Any]:
    return {"sub": principal.subject}


@pytest.fixture
async def jwks() -> AsyncIterator[tuple[JwksServer, Signer]]:
    signer, server = Signer(), JwksServer()
    server.publish(signer)
    await server.start()
    yield server, signer
    await server.stop()


async def _service(server: JwksServer, redis_url: str | None):
    settings = BaseServiceSettings(
        service_name="probe",
        environment="test",
        auth_url=server.base_url,
        jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE,
        redis_url=redis_url,
    )
    app = create_service_app(
        settings,
        title="probe",
        description="probe",
        routers=[router],
        lifespan_hooks=[redis_hook(redis_url), verifier_hook()],
    )
    return app


async def test_a_revoked_session_is_refused_by_a_service_within_a_second(jwks, redis_url: str):
    server, signer = jwks
    app = await _service(server, redis_url)
    session_id = uuid.uuid4()
    token = signer.token(sid=str(session_id))
    publisher = make_redis(redis_url)
    try:
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http,
        ):
            headers = {"Authorization": f"Bearer {token}"}
            assert (await http.get("/api/v1/whoami", headers=headers)).status_code == 200
            await publish_revocation(publisher, session_id, time.time() + 900)
            started = time.monotonic()
            while (answer := await http.get("/api/v1/whoami", headers=headers)).status_code != 401:
                assert time.monotonic() - started < 1.0, "the service still accepts a revoked session"
                await asyncio.sleep(0.02)
            assert answer.headers["content-type"].startswith("application/problem+json")
            # Other sessions are unaffected.
            assert (
                await http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {signer.token()}"})
            ).status_code == 200
            ready = await http.get("/api/v1/health/ready")
            assert ready.json()["checks"]["revocations"]["status"] == "ok"
    finally:
        await publisher.aclose()


async def test_a_service_without_redis_still_verifies_tokens(jwks):
    server, signer = jwks
    app = await _service(server, None)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http,
    ):
        assert (
            await http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {signer.token()}"})
        ).status_code == 200


async def test_before_the_revocations_ever_loaded_user_tokens_are_503_not_trusted(jwks):
    server, signer = jwks
    # Nothing listens on this port: the listener can never load.
    app = await _service(server, "redis://127.0.0.1:9/0")
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http,
    ):
        answer = await http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {signer.token()}"})
        assert answer.status_code == 503, answer.text
        assert answer.headers["retry-after"]
        ready = await http.get("/api/v1/health/ready")
        assert ready.status_code == 503 and ready.json()["checks"]["revocations"]["status"] == "down"


async def test_two_authorization_headers_are_refused(jwks):
    server, signer = jwks
    app = await _service(server, None)
    token = signer.token()
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://probe") as http,
    ):
        for second in ("Bearer another", f"Bearer {token}"):
            answer = await http.get(
                "/api/v1/whoami", headers=[("Authorization", f"Bearer {token}"), ("Authorization", second)]
            )
            assert answer.status_code == 400, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            assert answer.json()["type"].endswith("/ambiguous-authorization")


async def test_the_keys_are_fetched_at_start_up_before_any_request(jwks):
    """verifier_hook warms the key cache in the background at start-up, so the first signed-in
    request does not pay for the fetch (and the HTTP client it needs)."""
    server, signer = jwks
    app = await _service(server, None)
    async with app.router.lifespan_context(app):
        started = time.monotonic()
        while not app.state.verifier.keys.kids:
            assert time.monotonic() - started < 5.0, "the keys were not fetched at start-up"
            await asyncio.sleep(0.02)
        assert app.state.verifier.keys.kids == {signer.kid}
