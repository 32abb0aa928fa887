"""The route table on its own: prefixes, the public allow-list, refused path shapes."""

from __future__ import annotations

import pytest

from mcm_gateway.routes import Access, RouteTable

table = RouteTable()


def resolve(method: str, path: str, raw: bytes | None = None):
    return table.resolve(method, path, raw if raw is not None else path.encode())


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/api/v1/auth/register"),
        ("POST", "/api/v1/auth/login"),
        ("POST", "/api/v1/auth/refresh"),
        ("POST", "/api/v1/auth/password-reset"),
        ("POST", "/api/v1/auth/password-reset/confirm"),
        ("POST", "/api/v1/auth/token"),
        ("GET", "/.well-known/jwks.json"),
        ("GET", "/api/v1/auth/oidc/google/start"),
        ("GET", "/api/v1/auth/oidc/google/callback"),
        ("POST", "/api/v1/payments/webhooks/stripe"),
    ],
)
def test_public_endpoints_need_no_token(method, path):
    route = resolve(method, path)
    assert route is not None and route.access is Access.PUBLIC


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/auth/login"),  # only POST is public
        ("POST", "/api/v1/auth/logout"),
        ("GET", "/api/v1/auth/me"),
        ("POST", "/api/v1/auth/login/"),  # exact paths only
        ("GET", "/api/v1/users"),
        ("POST", "/api/v1/payments/webhooks/stripe/replay"),
        ("GET", "/api/v1/payments/webhooks/stripe"),
    ],
)
def test_everything_else_needs_a_token(method, path):
    route = resolve(method, path)
    assert route is not None and route.access is Access.AUTHENTICATED


@pytest.mark.parametrize(
    ("path", "raw"),
    [
        ("/api/v1/circles/internal/x", None),
        ("/api/v1/circles/Internal", None),
        ("/internal/api/v1/circles", None),
        ("/api/v1/circles/../auth/me", None),
        ("/api/v1/circles/./x", None),
        ("/api/v1/circles/a/b", b"/api/v1/circles/a%2Fb"),
        ("/api/v1/circles/a\\b", b"/api/v1/circles/a%5Cb"),
        ("/api/v1/circlesx", None),
        ("/api/v1", None),
        ("/", None),
    ],
)
def test_refused_paths_resolve_to_nothing(path, raw):
    assert resolve("GET", path, raw) is None


def test_credential_endpoints_are_marked():
    assert resolve("POST", "/api/v1/auth/login").credential
    assert resolve("POST", "/api/v1/auth/verify-phone").credential
    assert resolve("POST", "/api/v1/auth/verify-email/resend").credential
    assert not resolve("GET", "/api/v1/circles").credential
