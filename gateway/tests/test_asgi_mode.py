"""`create_app()` is a plain ASGI app: routing, token checks, header stripping, uploads and timeouts under uvicorn."""

from __future__ import annotations

import hashlib
import uuid


async def test_asgi_mode_routes_authenticates_and_strips_headers(start_gateway, bearer, upstreams, forwarded):
    gateway = await start_gateway()
    response = await gateway.client.get(
        "/api/v1/events/1", headers={**bearer, "X-User-Id": "forged", "X-Request-ID": "asgi-mode-0001"}
    )
    assert response.status_code == 200
    assert response.json()["upstream"] == "circles"
    assert "x-user-id" not in forwarded(response)
    assert response.headers["x-request-id"] == "asgi-mode-0001"

    request_id = f"asgi-{uuid.uuid4().hex}"
    refused = await gateway.client.get("/api/v1/events/1", headers={"X-Request-ID": request_id})
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert request_id.encode() not in upstreams["circles"].app.request_ids()

    assert (await gateway.client.get("/api/v1/circles/internal/x", headers=bearer)).status_code == 404


async def test_asgi_mode_streams_uploads_and_times_out_slow_upstreams(start_gateway, bearer):
    gateway = await start_gateway(circles_timeout_seconds=0.5)
    body = b"z" * (5 * 1024 * 1024)
    upload = await gateway.client.post("/api/v1/payments/uploads", headers=bearer, content=body)
    assert upload.json()["body_sha256"] == hashlib.sha256(body).hexdigest()
    slow = await gateway.client.get("/api/v1/circles/slow?seconds=3", headers=bearer)
    assert slow.status_code == 504
