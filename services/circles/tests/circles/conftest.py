"""Circles test harness: each test gets its own database at head (`engines.migrated_copy`: the
migrations run once per session, every test clones the result), its own app with the
lifespan running (real Redis, per-test stream names) and talks HTTP over ASGITransport.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from mcm_circles.config import EventsSettings, Settings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_circles.main import create_app
from mcm_shared.db import Database
from mcm_testing.engines import TestEngines
from mcm_testing.issuer import TestIssuer

from .support import Api


async def circles_database(engines: TestEngines) -> str:
    """The URL of a fresh circles database at head, of its own."""
    return await engines.migrated_copy(MIGRATIONS_DIR, version_table=VERSION_TABLE, schema=SCHEMA, prefix="circles")


@pytest.fixture(scope="session")
def circles_issuer() -> TestIssuer:
    return TestIssuer()


async def open_api(engines: TestEngines, issuer: TestIssuer, **overrides) -> AsyncIterator[Api]:
    url = await circles_database(engines)
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
async def api(engines: TestEngines, circles_issuer: TestIssuer) -> AsyncIterator[Api]:
    async for opened in open_api(engines, circles_issuer):
        yield opened


@pytest.fixture
async def api_with_relay(engines: TestEngines, circles_issuer: TestIssuer) -> AsyncIterator[Api]:
    async for opened in open_api(engines, circles_issuer, outbox_relay_enabled=True):
        yield opened
