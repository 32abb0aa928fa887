"""Operational behaviour: migrations match the models, dependencies that are down give a fast
503 problem, OpenAPI lists the auth endpoints."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from mcm_auth.db import SCHEMA, VERSION_TABLE
from mcm_auth.models import metadata
from mcm_devstack.engines import free_port
from mcm_shared.db import to_async_url

from .conftest import PASSWORD, new_email


async def test_migrations_build_exactly_the_models_schema(creds_url):
    engine = create_async_engine(to_async_url(creds_url))

    def differences(connection):
        context = MigrationContext.configure(
            connection,
            opts={
                "include_schemas": True,
                "version_table": VERSION_TABLE,
                "version_table_schema": SCHEMA,
                "compare_type": True,
                "include_name": lambda name, type_, parent: type_ != "schema" or name == SCHEMA,
            },
        )
        return compare_metadata(context, metadata)

    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


async def test_redis_down_answers_503_quickly(app_client):
    async with app_client(redis_url=f"redis://127.0.0.1:{free_port()}/0", dependency_timeout_seconds=0.5) as client:
        response = await client.post("/api/v1/auth/login", json={"email": new_email(), "password": PASSWORD})
        assert response.status_code == 503
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (await client.get("/api/v1/health/ready")).status_code == 503
        assert (await client.get("/api/v1/health/live")).status_code == 200


async def test_database_down_answers_503_and_jwks_still_serves(app_client):
    async with app_client(
        creds_database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere", dependency_timeout_seconds=0.5
    ) as client:
        response = await client.post(
            "/api/v1/auth/register", json={"email": new_email(), "password": PASSWORD, "display_name": "Sam"}
        )
        assert response.status_code == 503
        jwks = await client.get("/.well-known/jwks.json")
        assert jwks.status_code == 200 and jwks.json()["keys"]


async def test_openapi_lists_the_auth_surface(client):
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in [
        "/api/v1/auth/register",
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/auth/me",
        "/api/v1/auth/sessions",
        "/api/v1/auth/sessions/{session_id}",
        "/api/v1/auth/verify-email",
        "/api/v1/auth/verify-email/resend",
        "/api/v1/auth/phone",
        "/api/v1/auth/verify-phone",
        "/api/v1/auth/password-reset",
        "/api/v1/auth/password-reset/confirm",
        "/api/v1/auth/password",
        "/api/v1/auth/token",
        "/.well-known/jwks.json",
        "/api/v1/users",
        "/api/v1/users/{user_id}/roles",
        "/api/v1/users/{user_id}/audit",
        "/api/v1/users/{user_id}/disable",
        "/api/v1/users/{user_id}/enable",
    ]:
        assert path in paths, path


async def test_housekeeping_removes_only_what_has_served_its_purpose(client, mail):
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import text

    from mcm_auth.housekeeping import purge

    from .conftest import bearer, signed_up

    _, old = await signed_up(client)
    _, current = await signed_up(client)
    await client.post("/api/v1/auth/logout", headers=bearer(old))
    old_sid = __import__("jwt").decode(old["access_token"], options={"verify_signature": False})["sid"]
    db = client.app.state.db
    async with db.session() as session:
        await session.execute(
            text("UPDATE auth.sessions SET revoked_at = now() - interval '31 days' WHERE id = :s"), {"s": old_sid}
        )
        await session.commit()
    await purge(db, absolute_session_ttl=timedelta(days=60), now=datetime.now(UTC))
    async with db.session() as session:
        assert await session.scalar(text("SELECT count(*) FROM auth.sessions WHERE id = :s"), {"s": old_sid}) == 0
        assert (
            await session.scalar(text("SELECT count(*) FROM auth.refresh_tokens WHERE session_id = :s"), {"s": old_sid})
            == 0
        )
    assert (await client.get("/api/v1/auth/me", headers=bearer(current))).status_code == 200
