"""The service behind the gateway in the benchmark: a tiny uvicorn JSON app.

`BENCH_UPSTREAM_KIND=fastapi` (default) answers like a real service route (FastAPI, one JSON
GET); `asgi` is a bare ASGI app, the hardest baseline for a proxy to keep up with. Both serve
`/.well-known/jwks.json` from `BENCH_JWKS` so the gateway can verify the benchmark's token.
"""

from __future__ import annotations

import json
import os

JWKS = json.loads(os.environ.get("BENCH_JWKS", '{"keys": []}'))
PAYLOAD = {
    "items": [{"id": "5f0c1c8e-3c1e-4c59-9a53-0d8f8f0c1a01", "name": "Tuesday circle", "open_seats": 3}],
    "next_cursor": None,
}


def _fastapi_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/v1/circles")
    async def circles() -> dict:
        return PAYLOAD

    @app.get("/.well-known/jwks.json")
    async def jwks() -> dict:
        return JWKS

    @app.get("/api/v1/health/ready")
    async def ready() -> dict:
        return {"status": "ok"}

    return app


def _asgi_app():
    bodies = {
        "/api/v1/circles": json.dumps(PAYLOAD).encode(),
        "/.well-known/jwks.json": json.dumps(JWKS).encode(),
        "/api/v1/health/ready": b'{"status":"ok"}',
    }

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        body = bodies.get(scope["path"])
        status = 200 if body is not None else 404
        body = body or b'{"detail":"Not Found"}'
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app


app = _asgi_app() if os.environ.get("BENCH_UPSTREAM_KIND") == "asgi" else _fastapi_app()
