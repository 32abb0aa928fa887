"""Every gateway answer carries the browser security headers, exactly once (attacker review,
issue 13: none did). HSTS only when the request came over HTTPS."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mcm_devstack.engines import free_port
from mcm_gateway.security_headers import CONTENT_SECURITY_POLICY

EXPECTED = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
    "content-security-policy": CONTENT_SECURITY_POLICY,
}


def assert_secured(response: httpx.Response, *, hsts: bool = False) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get_list(name) == [value], (response.request.url, name)
    assert ("strict-transport-security" in response.headers) is hsts, response.request.url


def test_the_policy_holds_the_required_directives():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"  # no inline or remote script, ever
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["frame-ancestors"] == "'none'"


async def test_proxied_own_and_error_answers_all_carry_the_headers(start_gateway, bearer):
    gateway = await start_gateway(server="uvicorn", payments_url="", cors_origins=["https://app.example"])
    client = gateway.client
    answers = {
        "proxied": await client.get("/api/v1/circles", headers=bearer),
        "proxied upstream error": await client.get("/api/v1/circles/status/404", headers=bearer),
        "own": await client.get("/"),
        "health": await client.get("/api/v1/health/live"),
        "openapi": await client.get("/openapi.json"),
        "not found": await client.get("/nowhere"),
        "internal path": await client.get("/api/v1/circles/internal/x", headers=bearer),
        "no token": await client.get("/api/v1/circles"),
        "upstream not configured": await client.get("/api/v1/payments/history", headers=bearer),
        "preflight": await client.options(
            "/api/v1/circles",
            headers={
                "Origin": "https://app.example",
                "Access-Control-Request-Method": "GET",
            },
        ),
    }
    statuses = {what: response.status_code for what, response in answers.items()}
    assert statuses == {
        "proxied": 200,
        "proxied upstream error": 404,
        "own": 200,
        "health": 200,
        "openapi": 200,
        "not found": 404,
        "internal path": 404,
        "no token": 401,
        "upstream not configured": 503,
        "preflight": 204,
    }
    for response in answers.values():
        assert_secured(response)


class SelfStyledUpstream:
    """An upstream that sets its own, weaker copies of the headers."""

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await receive()
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/html"),
                    (b"content-length", b"2"),
                    (b"x-frame-options", b"SAMEORIGIN"),
                    (b"content-security-policy", b"default-src *"),
                    (b"x-content-type-options", b"nosniff"),
                    (b"strict-transport-security", b"max-age=1"),
                    (b"referrer-policy", b"unsafe-url"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


async def test_an_upstreams_own_copies_are_replaced_not_duplicated(start_gateway, start_upstream, bearer):
    port = free_port()
    await start_upstream("circles", port, app=SelfStyledUpstream())
    gateway = await start_gateway(server="uvicorn", circles_url=f"http://127.0.0.1:{port}")
    response = await gateway.client.get("/api/v1/circles", headers=bearer)
    assert response.text == "ok"
    assert_secured(response)  # ours, once each; the upstream's HSTS over plain HTTP is gone too


@pytest.mark.parametrize(
    ("trusted", "forwarded_proto", "hsts"),
    [
        (None, None, False),
        (None, "https", False),  # anyone can claim it: not believed without TRUSTED_PROXIES
        ("127.0.0.1/32", "https", True),
        ("127.0.0.1/32", "https, http", True),
        ("127.0.0.1/32", "http", False),
        ("10.0.0.0/8", "https", False),  # the peer is not one of the trusted proxies
    ],
)
async def test_hsts_only_over_https(start_gateway, bearer, trusted, forwarded_proto, hsts):
    overrides = {"trusted_proxies": trusted} if trusted else {}
    gateway = await start_gateway(server="uvicorn", **overrides)
    headers = {**bearer, "X-Forwarded-Proto": forwarded_proto} if forwarded_proto else bearer
    for path in ("/api/v1/circles", "/", "/nowhere"):
        response = await gateway.client.get(path, headers=headers)
        assert_secured(response, hsts=hsts)
        if hsts:
            assert response.headers["strict-transport-security"] == "max-age=31536000"


async def test_hsts_can_be_turned_off(start_gateway, bearer):
    gateway = await start_gateway(server="uvicorn", trusted_proxies="127.0.0.1/32", hsts_max_age_seconds=0)
    response = await gateway.client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert_secured(response, hsts=False)
