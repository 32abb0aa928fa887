"""Events test harness: every test gets its own circles database at head (`engines.migrated_copy`:
the migrations run once per session, every test clones the result), its own
app (lifespan run, real Redis), a ManualClock it moves by hand, and talks HTTP over ASGITransport.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from mcm_circles.clock import ManualClock
from mcm_circles.config import EventsSettings, Settings
from mcm_circles.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_circles.main import create_app
from mcm_shared.db import Database
from mcm_testing.engines import TestEngines
from mcm_testing.issuer import TestIssuer

from .support import START, World


async def events_database(engines: TestEngines) -> str:
    """The URL of a fresh circles database at head, of its own."""
    return await engines.migrated_copy(MIGRATIONS_DIR, version_table=VERSION_TABLE, schema=SCHEMA, prefix="events")


@pytest.fixture(scope="session")
def issuer() -> TestIssuer:
    return TestIssuer()


async def open_world(
    engines: TestEngines, issuer: TestIssuer, *, url: str | None = None, **settings
) -> AsyncIterator[World]:
    """An app on a fresh database at head (or on `url`, to run a second replica)."""
    url = url or await events_database(engines)
    suffix = uuid.uuid4().hex[:8]
    events_settings = EventsSettings(
        sweep_enabled=False, **{k: v for k, v in settings.items() if k in EventsSettings.model_fields}
    )
    # The service's relay is not under test here (tests read the outbox); its one consumer reads
    # streams and a group of this test's own.
    service_settings = {
        "outbox_relay_enabled": False,
        "auth_events_stream": f"events:auth-test-{suffix}",
        "payments_events_stream": f"events:payments-test-{suffix}",
        "members_consumer_group": f"circles-events-{suffix}",
        **{k: v for k, v in settings.items() if k not in EventsSettings.model_fields},
    }
    clock = ManualClock(START)
    app = create_app(
        Settings(environment="test", database_url=url, redis_url=engines.redis_url, **service_settings),
        events_settings=events_settings,
        clock=clock,
    )
    db = Database(url)
    async with app.router.lifespan_context(app):
        app.state.verifier.keys.load(issuer.jwks())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://circles.test", timeout=120) as client:
            yield World(client=client, app=app, issuer=issuer, clock=clock, db=db, settings=events_settings)
    await db.dispose()


@pytest.fixture
async def world(engines: TestEngines, issuer: TestIssuer) -> AsyncIterator[World]:
    async for opened in open_world(engines, issuer):
        yield opened
