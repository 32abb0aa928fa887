"""The common app shape: problem+json everywhere, request ids, health semantics, production refusal."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest
from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from mcm_shared.app import create_service_app
from mcm_shared.errors import PROBLEM_JSON, Conflict
from mcm_shared.logging import JsonFormatter, request_id_var
from mcm_shared.security import CurrentPrincipal
from mcm_shared.settings import BaseServiceSettings, ConfigurationError, Environment


class Thing(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    size: int


router = APIRouter()


@router.post("/things", status_code=201)
async def create_thing(thing: Thing) -> Thing:
    if thing.name == "taken":
        raise Conflict("That name is taken.")
    return thing


@router.get("/mine")
async def mine(principal: CurrentPrincipal) -> dict[str, str]:
    return {"subject": principal.subject}


@router.get("/boom")
async def boom() -> None:
    raise RuntimeError("secret internals")


@router.get("/request-id")
async def echo_request_id() -> dict[str, str | None]:
    return {"request_id": request_id_var.get()}


def make_app(**overrides):
    settings = BaseServiceSettings(service_name="testsvc", **overrides)
    return create_service_app(settings, title="t", description="d", routers=[router])


@pytest.fixture
async def client():
    app = make_app()
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            c.app = app
            yield c


async def test_malformed_json_is_a_400_problem(client):
    response = await client.post("/things", content=b'{"name": ', headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(PROBLEM_JSON)
    assert response.json()["title"] == "Malformed JSON"


async def test_wrong_types_and_unknown_fields_are_422_with_field_errors(client):
    response = await client.post("/things", json={"name": "x", "size": "big", "role": "admin"})
    assert response.status_code == 422
    body = response.json()
    assert body["status"] == 422
    locations = {tuple(error["loc"]) for error in body["errors"]}
    assert ("body", "size") in locations and ("body", "role") in locations


async def test_domain_error_renders_its_status(client):
    response = await client.post("/things", json={"name": "taken", "size": 1})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/conflict")


async def test_unknown_route_and_wrong_method_are_problems(client):
    missing = await client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(PROBLEM_JSON)
    wrong = await client.delete("/things")
    assert wrong.status_code == 405 and wrong.json()["status"] == 405


async def test_unexpected_error_is_500_without_internals(client):
    response = await client.get("/boom")
    assert response.status_code == 500
    assert "secret internals" not in response.text


async def test_request_id_kept_when_well_formed_else_replaced(client):
    kept = await client.get("/request-id", headers={"X-Request-ID": "abc12345-trace"})
    assert kept.json()["request_id"] == "abc12345-trace"
    assert kept.headers["x-request-id"] == "abc12345-trace"
    replaced = await client.get("/request-id", headers={"X-Request-ID": "bad id\twith spaces"})
    assert replaced.json()["request_id"] != "bad id\twith spaces"
    assert len(replaced.headers["x-request-id"]) == 32


async def test_live_ignores_dependencies_ready_reports_them(client):
    async def hangs():
        await asyncio.sleep(10)

    client.app.state.health.add("slow-db", hangs, timeout=0.2)
    assert (await client.get("/api/v1/health/live")).status_code == 200
    ready = await client.get("/api/v1/health/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"]["slow-db"]["status"] == "down"
    detailed = await client.get("/api/v1/health")
    assert detailed.status_code == 503
    assert detailed.json()["service"] == "testsvc"


async def test_draining_turns_readiness_503(client):
    assert (await client.get("/api/v1/health/ready")).status_code == 200
    client.app.state.health.draining = True
    assert (await client.get("/api/v1/health/ready")).status_code == 503


async def test_root_and_metrics(client):
    assert (await client.get("/")).json() == {"name": "testsvc", "version": "0.1.0"}
    await client.get("/api/v1/health/live")
    metrics = await client.get("/metrics")
    assert 'route="/api/v1/health/live"' in metrics.text


def test_docs_hidden_in_production_only():
    assert any(getattr(r, "path", None) == "/docs" for r in make_app().routes)
    production = make_app(
        environment=Environment.PRODUCTION, redis_url="redis://x", service_client_secret="s3cret-value"
    )
    assert not any(getattr(r, "path", None) == "/docs" for r in production.routes)


def test_production_refuses_default_secret_and_missing_url():
    with pytest.raises(ConfigurationError) as refused:
        make_app(environment=Environment.PRODUCTION)
    assert "REDIS_URL is not set" in str(refused.value)
    assert "SERVICE_CLIENT_SECRET still has its development default" in str(refused.value)


def test_log_lines_are_json_with_service_and_request_id():
    formatter = JsonFormatter("svc")
    token = request_id_var.set("req-12345678")
    try:
        record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
        line = json.loads(formatter.format(record))
    finally:
        request_id_var.reset(token)
    assert line["service"] == "svc" and line["request_id"] == "req-12345678" and line["msg"] == "hello you"


def test_cors_origins_accept_a_comma_separated_list(monkeypatch):
    monkeypatch.setenv("CORS_ORIGINS", "https://a.example, https://b.example")
    assert BaseServiceSettings().cors_origins == ["https://a.example", "https://b.example"]


async def test_openapi_documents_every_error_as_a_problem_with_the_answers_given_before_the_route(client):
    document = (await client.get("/openapi.json")).json()
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    create = document["paths"]["/things"]["post"]["responses"]
    assert create["422"]["content"] == problem and create["400"]["content"] == problem
    assert "401" not in create  # no token needed there
    protected = document["paths"]["/mine"]["get"]["responses"]
    assert protected["401"]["content"] == problem and "400" not in protected
    assert "HTTPValidationError" not in document["components"]["schemas"]
    # ...and what is documented is what comes back.
    malformed = await client.post("/things", content=b"{", headers={"content-type": "application/json"})
    unauthenticated = await client.get("/mine")
    assert (malformed.status_code, unauthenticated.status_code) == (400, 401)
    assert {malformed.headers["content-type"], unauthenticated.headers["content-type"]} == {PROBLEM_JSON}


def test_fastapi_telemetry_hooks_are_off():
    """The platform has its own metrics and logs; FastAPI's OpenTelemetry hooks cost every request."""
    assert not make_app()._native_telemetry.enabled()
