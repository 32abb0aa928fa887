"""The walking skeleton, through the gateway, on real processes: register → login → a protected
circles endpoint; without a token → 401; every process answers its health probes."""

from __future__ import annotations

import uuid

import httpx
import pytest

from mcm_devstack.platform import SERVICES, Platform


@pytest.fixture
def gateway(platform: Platform):
    with httpx.Client(base_url=platform.url("gateway"), timeout=10) as client:
        yield client


def test_every_process_answers_its_health_probes(platform: Platform):
    for spec in SERVICES:
        base = platform.url(spec.name)
        for path in ("/api/v1/health/live", "/api/v1/health/ready", "/api/v1/health"):
            response = httpx.get(base + path, timeout=5)
            assert response.status_code == 200, (spec.name, path, response.text)
        assert httpx.get(base + "/", timeout=5).json()["name"] == spec.name


def test_register_login_and_list_circles_through_the_gateway(gateway: httpx.Client):
    email = f"new-{uuid.uuid4().hex[:8]}@example.org"
    registered = gateway.post(
        "/api/v1/auth/register", json={"email": email, "password": "a long enough password", "display_name": "Sam"}
    )
    assert registered.status_code == 201, registered.text
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": "a long enough password"})
    assert login.status_code == 200, login.text
    token = login.json()["access_token"]
    circles = gateway.get("/api/v1/circles", headers={"Authorization": f"Bearer {token}"})
    assert circles.status_code == 200, circles.text
    assert "items" in circles.json()
    me = gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200 and me.json()["display_name"] == "Sam"


def test_protected_route_without_token_is_401_problem(gateway: httpx.Client):
    response = gateway.get("/api/v1/circles")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")


def test_first_admin_can_sign_in(gateway: httpx.Client, admin_credentials: tuple[str, str]):
    email, password = admin_credentials
    login = gateway.post("/api/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    me = gateway.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {login.json()['access_token']}"})
    assert "admin" in me.json()["roles"]


def test_jwks_is_public_through_the_gateway(gateway: httpx.Client):
    keys = gateway.get("/.well-known/jwks.json").json()["keys"]
    assert keys and all(key["kty"] == "EC" and "d" not in key for key in keys)
