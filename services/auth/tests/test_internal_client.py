"""Auth's calls to other services' internal routes (`runtime.internal`).

A small service on a loopback port protects its routes with the shared `require_service("auth")`
and trusts auth's published keys, as circles and payments do: the calls prove auth's own token
is accepted there, and the failures prove a missing, slow or broken service is a 503 naming it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jwt
import pytest
import uvicorn
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from mcm_auth.internal.client import ServiceUnavailable
from mcm_devstack.engines import free_port, wait_for_port
from mcm_shared.errors import install_problem_handlers
from mcm_shared.security import JWKSCache, Principal, TokenVerifier, internal_verifier, require_service

SECRET = "circles-secret-0123456789"


@dataclass
class FakeService:
    base_url: str
    keys: JWKSCache
    seen_tokens: list[str]


@pytest.fixture(scope="module")
def fake_circles() -> Iterator[FakeService]:
    keys = JWKSCache("http://127.0.0.1:9/unused", refetch_cooldown=1e9)
    seen: list[str] = []
    app = FastAPI()
    install_problem_handlers(app)
    app.state.verifier = TokenVerifier(keys, issuer="mcm-auth", audience="mcm-api")
    app.state.internal_verifier = internal_verifier(app.state.verifier)

    @app.get("/internal/v1/echo")
    async def echo(caller: Principal = Depends(require_service("auth"))) -> dict[str, Any]:  # noqa: B008
        return {"caller": caller.subject}

    @app.post("/internal/v1/echo")
    async def echo_body(body: dict[str, Any], caller: Principal = Depends(require_service("auth"))) -> dict[str, Any]:  # noqa: B008
        return {"caller": caller.subject, "body": body}

    @app.get("/internal/v1/token")
    async def token(caller: Principal = Depends(require_service("auth"))) -> dict[str, Any]:  # noqa: B008
        return {"jti": caller.token_id}

    @app.get("/internal/v1/slow")
    async def slow() -> dict[str, Any]:
        await asyncio.sleep(3)
        return {}

    @app.get("/internal/v1/broken")
    async def broken() -> JSONResponse:
        return JSONResponse({"detail": "boom"}, status_code=500)

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for_port(port)
    yield FakeService(f"http://127.0.0.1:{port}", keys, seen)
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
async def auth_with_circles(app_client: Any, fake_circles: FakeService) -> Any:
    closed_port = free_port()  # nothing listens there
    async with app_client(
        circles_url=fake_circles.base_url,
        payments_url=f"http://127.0.0.1:{closed_port}",
        internal_call_timeout_seconds=0.5,
    ) as client:
        fake_circles.keys.load((await client.get("/.well-known/jwks.json")).json())
        yield client


async def test_auth_calls_an_internal_route_with_its_own_service_token(auth_with_circles: Any) -> None:
    internal = auth_with_circles.app.state.runtime.internal
    assert await internal.get("circles", "/internal/v1/echo") == {"caller": "svc:auth"}
    assert await internal.post("circles", "/internal/v1/echo", {"a": 1}) == {"caller": "svc:auth", "body": {"a": 1}}


async def test_the_service_token_is_short_lived_internal_and_reused(auth_with_circles: Any) -> None:
    internal = auth_with_circles.app.state.runtime.internal
    token = internal._bearer()
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["sub"] == "svc:auth" and claims["aud"] == "internal" and "sid" not in claims
    assert claims["exp"] - claims["iat"] == 300
    first = await internal.get("circles", "/internal/v1/token")
    second = await internal.get("circles", "/internal/v1/token")
    assert first == second == {"jti": claims["jti"]}


async def test_an_unreachable_service_is_a_503_naming_it(auth_with_circles: Any) -> None:
    internal = auth_with_circles.app.state.runtime.internal
    with pytest.raises(ServiceUnavailable) as raised:
        await internal.get("payments", "/internal/v1/users/x/overview")
    assert raised.value.status == 503 and raised.value.service == "payments"
    assert "payments" in raised.value.detail and raised.value.extra == {"service": "payments"}


async def test_a_slow_service_is_cut_off_by_the_timeout(auth_with_circles: Any) -> None:
    internal = auth_with_circles.app.state.runtime.internal
    started = time.monotonic()
    with pytest.raises(ServiceUnavailable) as raised:
        await internal.get("circles", "/internal/v1/slow")
    assert raised.value.service == "circles"
    assert time.monotonic() - started < 2


async def test_an_error_answer_is_a_503_naming_the_service(auth_with_circles: Any) -> None:
    internal = auth_with_circles.app.state.runtime.internal
    with pytest.raises(ServiceUnavailable, match="circles"):
        await internal.get("circles", "/internal/v1/broken")


async def test_an_unconfigured_service_is_unavailable_not_guessed(app_client: Any) -> None:
    async with app_client(payments_url="") as client:
        with pytest.raises(ServiceUnavailable, match="payments"):
            await client.app.state.runtime.internal.get("payments", "/internal/v1/anything")


async def test_only_internal_paths_and_known_services(auth_with_circles: Any) -> None:
    internal = auth_with_circles.app.state.runtime.internal
    with pytest.raises(ValueError, match="/internal/"):
        await internal.get("circles", "/api/v1/circles")
    with pytest.raises(ValueError, match="unknown service"):
        await internal.get("messaging", "/internal/v1/x")


async def test_a_user_token_does_not_open_an_internal_route(auth_with_circles: Any, fake_circles: FakeService) -> None:
    import httpx

    from .conftest import bearer, signed_up

    _, tokens = await signed_up(auth_with_circles)
    async with httpx.AsyncClient() as http:
        response = await http.get(fake_circles.base_url + "/internal/v1/echo", headers=bearer(tokens))
        assert response.status_code == 403
        assert (await http.get(fake_circles.base_url + "/internal/v1/echo")).status_code == 401


async def test_auth_internal_token_is_not_a_user_token_on_auth_routes(auth_with_circles: Any) -> None:
    token = auth_with_circles.app.state.runtime.internal._bearer()
    response = await auth_with_circles.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401


async def test_no_client_may_obtain_auths_own_identity(app_client: Any) -> None:
    # Whoever held an "auth" client secret could act as auth on every internal route.
    async with app_client(service_clients=f"auth:{SECRET},circles:{SECRET}") as client:
        refused = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": "auth", "client_secret": SECRET},
        )
        assert refused.status_code == 401
        allowed = await client.post(
            "/api/v1/auth/token",
            data={"grant_type": "client_credentials", "client_id": "circles", "client_secret": SECRET},
        )
        assert allowed.status_code == 200
