"""The merged OpenAPI document and Swagger UI."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel


class Circles:
    class Item(BaseModel):
        name: str


class Auth:
    class Item(BaseModel):  # same name as circles' schema, different shape
        email: str
        code: int


def _circles_service() -> FastAPI:
    app = FastAPI(title="circles")

    @app.get("/api/v1/circles", response_model=list[Circles.Item])
    async def list_circles() -> list[Circles.Item]:
        return []

    @app.get("/api/v1/circles/{circle_id}", response_model=Circles.Item)
    async def get_circle(circle_id: str) -> Circles.Item:
        return Circles.Item(name="x")

    @app.post("/internal/circles/sync")
    async def internal_sync() -> dict:
        return {}

    @app.get("/api/v1/health/ready")
    async def ready() -> dict:
        return {"status": "ok"}

    return app


def _auth_service() -> FastAPI:
    app = FastAPI(title="auth")

    @app.post("/api/v1/auth/login")
    async def login(item: Auth.Item) -> dict:
        return {}

    @app.get("/api/v1/auth/me", response_model=Auth.Item)
    async def me() -> Auth.Item:
        return Auth.Item(email="a@b.c", code=1)

    @app.get("/api/v1/auth/internal/keys")
    async def internal_keys() -> dict:
        return {}

    return app


async def test_the_merged_document_holds_only_public_paths_with_the_right_security(start_gateway, start_upstream):
    circles = await start_upstream("circles", app=_circles_service())
    auth = await start_upstream("auth", app=_auth_service())
    gateway = await start_gateway(circles_url=circles.url, auth_url=auth.url, payments_url="")
    response = await gateway.client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    paths = document["paths"]
    assert set(paths) >= {
        "/api/v1/circles",
        "/api/v1/circles/{circle_id}",
        "/api/v1/auth/login",
        "/api/v1/auth/me",
        "/api/v1/health/ready",
    }
    assert not any("internal" in path for path in paths)
    assert paths["/api/v1/auth/login"]["post"]["security"] == []
    assert paths["/api/v1/auth/me"]["get"]["security"] == [{"bearerAuth": []}]
    assert paths["/api/v1/circles"]["get"]["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    schemas = document["components"]["schemas"]
    # Both services call a schema "Item"; the second one seen is renamed, refs follow it.
    assert {"Item", "AuthItem"} <= set(schemas) or {"Item", "CirclesItem"} <= set(schemas)
    me_ref = paths["/api/v1/auth/me"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    assert "email" in schemas[me_ref.rsplit("/", 1)[1]]["properties"]
    assert document["x-unavailable-services"] == ["payments"]


async def test_swagger_ui_is_served_outside_production(gateway):
    response = await gateway.client.get("/docs")
    assert response.status_code == 200
    assert "swagger-ui" in response.text
    # Its set-up is a static script (CSP: no inline script) that loads the merged document.
    setup = next(line.split('"')[1] for line in response.text.splitlines() if "docs-init.js" in line)
    assert "/openapi.json" in (await gateway.client.get(setup)).text
