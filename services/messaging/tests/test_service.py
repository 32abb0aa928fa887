"""The service's shape: probes, migrations that build exactly the models, settings."""

from __future__ import annotations

import uuid

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import create_async_engine

from mcm_messaging.db import VERSION_TABLE
from mcm_messaging.models import metadata
from mcm_shared.db import to_async_url


async def test_probes_answer(harness):
    assert (await harness.http.get("/api/v1/health/live")).status_code == 200
    ready = await harness.http.get("/api/v1/health/ready")
    assert ready.status_code == 200, ready.text


async def test_conversations_need_a_signed_in_person(harness):
    assert (await harness.http.get("/api/v1/conversations")).status_code == 401
    service = harness.issuer.headers("svc:circles", roles=())
    assert (await harness.http.get("/api/v1/conversations", headers=service)).status_code == 403
    assert (await harness.get("/api/v1/conversations", uuid.uuid4())).status_code == 200


async def test_the_migrations_build_exactly_the_models(harness):
    engine = create_async_engine(to_async_url(harness.database_url))
    async with engine.connect() as connection:

        def diff(sync):
            def ours(name, kind, parent):
                return name == "messaging" if kind == "schema" else name != VERSION_TABLE

            context = MigrationContext.configure(sync, opts={"include_schemas": True, "include_name": ours})
            return compare_metadata(context, metadata)

        differences = await connection.run_sync(diff)
    await engine.dispose()
    assert differences == []
