"""Circles test harness: migrations applied once to a template database on the embedded
PostgreSQL; each test gets its own copy (CREATE DATABASE … TEMPLATE), its own app with the
lifespan running (real Redis, per-test stream names) and talks HTTP over ASGITransport.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from mcm_circles.config import EventsSettings, Settings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_circles.main import create_app
from mcm_shared.db import Database
from mcm_shared.migrations import migrate_command
from mcm_testing.engines import TestEngines
from mcm_testing.issuer import TestIssuer

from .support import Api


@pytest.fixture(scope="session")
async def circles_template(engines: TestEngines) -> str:
    url = await engines.create_database("circles_tmpl")
    await asyncio.to_thread(migrate_command, MIGRATIONS_DIR, url, version_table=VERSION_TABLE, schema=SCHEMA)
    return url.rpartition("/")[2]


async def clone_database(engines: TestEngines, template: str) -> str:
    name = f"circles_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(engines.server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await connection.close()
    engines.created.append(name)
    return engines.url_for(name)


@pytest.fixture(scope="session")
def circles_issuer() -> TestIssuer:
    return TestIssuer()


async def open_api(engines: TestEngines, template: str, issuer: TestIssuer, **overrides) -> AsyncIterator[Api]:
    url = await clone_database(engines, template)
    suffix = uuid.uuid4().hex[:8]
    options = {"outbox_relay_enabled": False, **overrides}
    settings = Settings(
        environment="test",
        database_url=url,
        redis_url=engines.redis_url,
        # 50 concurrent joins each hold a connection while queueing on the circle's row lock.
        database_pool_size=60,
        database_max_overflow=10,
        # Opening 50 connections at once on a busy 2-core CI box can take longer than the
        # production default of 2 s; a 503 there would be the machine, not the rule under test.
        dependency_timeout_seconds=10,
        auth_events_stream=f"events:auth-test-{suffix}",
        payments_events_stream=f"events:payments-test-{suffix}",
        members_consumer_group=f"circles-members-{suffix}",
        **options,
    )
    app = create_app(settings, events_settings=EventsSettings(sweep_enabled=False, consume_payments=False))
    db = Database(url)
    async with app.router.lifespan_context(app):
        app.state.verifier.keys.load(issuer.jwks())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://circles.test", timeout=120) as client:
            yield Api(client=client, app=app, issuer=issuer, db=db, settings=settings)
    await db.dispose()


@pytest.fixture
async def api(engines: TestEngines, circles_template: str, circles_issuer: TestIssuer) -> AsyncIterator[Api]:
    async for opened in open_api(engines, circles_template, circles_issuer):
        yield opened


@pytest.fixture
async def api_with_relay(engines: TestEngines, circles_template: str, circles_issuer: TestIssuer) -> AsyncIterator[Api]:
    async for opened in open_api(engines, circles_template, circles_issuer, outbox_relay_enabled=True):
        yield opened
