"""Which upstream a path reaches, and which paths reach none."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("path", "upstream"),
    [
        ("/api/v1/auth/me", "auth"),
        ("/api/v1/users/123/audit", "auth"),
        ("/api/v1/circles", "circles"),
        ("/api/v1/circles/abc/members", "circles"),
        ("/api/v1/events/1/registrations/me", "circles"),
        ("/api/v1/event-types", "circles"),
        ("/api/v1/event-types/workshop", "circles"),
        ("/api/v1/transfer-requests/9/approve", "circles"),
        ("/api/v1/members/me", "circles"),
        ("/api/v1/directory", "circles"),
        ("/api/v1/invitations/123/resend", "auth"),
        ("/api/v1/imports", "auth"),
        ("/api/v1/payments/obligations", "payments"),
        ("/api/v1/conversations", "messaging"),
        ("/api/v1/conversations/abc/messages", "messaging"),
        ("/api/v1/notifications", "messaging"),
        ("/api/v1/realtime/tickets", "messaging"),
        ("/api/v1/reports/retention", "circles"),
        ("/api/v1/reports/attendance", "circles"),
        ("/api/v1/reports/goals", "circles"),
        ("/api/v1/reports/events", "circles"),
        ("/api/v1/reports/dues", "payments"),
        ("/api/v1/reports/revenue", "payments"),
    ],
)
async def test_authenticated_paths_reach_their_upstream(gateway, bearer, path, upstream):
    response = await gateway.client.get(path, headers=bearer)
    assert response.status_code == 200
    body = response.json()
    assert body["upstream"] == upstream
    assert body["path"] == path


async def test_query_string_and_encoded_path_pass_unchanged(gateway, bearer):
    response = await gateway.client.get("/api/v1/circles/a%20b?limit=5&cursor=x%2By", headers=bearer)
    body = response.json()
    assert body["raw_path"] == "/api/v1/circles/a%20b"
    assert body["query"] == "limit=5&cursor=x%2By"


async def test_jwks_is_public_and_served_by_auth(gateway, keys):
    response = await gateway.client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.json()["keys"][0]["kid"] == keys.current.kid


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/circles/internal/sync",
        "/internal/users",
        "/api/v1/auth/internal/tokens",
        "/api/v1/payments/INTERNAL/x",
        "/api/v1/circles/../internal/x",
        "/api/v1/circles/%2e%2e/auth/me",
        "/api/v1/circles%2fx",
        "/api/v1/circlesextra",
        "/api/v2/circles",
        "/nothing/here",
        "/api/v1/reports",  # no report list: each name is routed to its owner
        "/api/v1/reports/unknown",
        "/api/v1/reports/retentionx",
    ],
)
async def test_internal_and_unknown_paths_are_404_problems(gateway, bearer, path):
    response = await gateway.client.get(path, headers=bearer)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 404


async def test_gateway_root_names_itself(gateway):
    response = await gateway.client.get("/")
    assert response.json() == {"name": "gateway", "version": "0.1.0"}


async def test_response_headers_from_upstream_are_relayed_but_hop_by_hop_dropped(gateway, bearer):
    response = await gateway.client.get("/api/v1/circles", headers=bearer)
    assert response.headers["x-upstream"] == "circles"
    assert response.headers["content-type"] == "application/json"
    # The gateway's request id wins over whatever the upstream put there.
    assert response.headers.get_list("x-request-id") == [response.headers["x-request-id"]]
    assert response.headers["x-request-id"] != "upstream-made-this-up"


async def test_methods_and_bodies_are_forwarded(gateway, bearer):
    response = await gateway.client.patch("/api/v1/events/7", headers=bearer, json={"title": "Retreat"})
    body = response.json()
    assert body["method"] == "PATCH"
    assert body["body_size"] == len(b'{"title":"Retreat"}')


async def test_head_requests_get_headers_without_body(gateway, bearer):
    response = await gateway.client.head("/api/v1/circles", headers=bearer)
    assert response.status_code == 200
    assert response.content == b""
    # The connection is still usable afterwards.
    again = await gateway.client.get("/api/v1/circles", headers=bearer)
    assert again.json()["method"] == "GET"
