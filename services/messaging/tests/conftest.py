"""Messaging test harness: real PostgreSQL (a fresh database per test, cloned from one migrated
template), real Redis (streams unique to the test) and the messaging app served by uvicorn on a
free 127.0.0.1 port. The read model is fed the way production feeds it: envelopes written to the
auth and circles streams, applied by the service's own consumer."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
import uvicorn

from mcm_devstack.engines import free_port
from mcm_messaging.config import Settings
from mcm_messaging.db import MIGRATIONS_DIR, SCHEMA, VERSION_TABLE
from mcm_messaging.main import create_app
from mcm_shared.events import Envelope
from mcm_shared.migrations import alembic_config, upgrade_to_head
from mcm_shared.redis import make_redis
from mcm_testing.issuer import TestIssuer


class Served:
    """An ASGI app served by uvicorn on a free port inside the test's event loop."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on", access_log=False)
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> Served:
        self.server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self.task = asyncio.create_task(self.server.serve())
        deadline = time.monotonic() + 20
        while not self.server.started:
            if self.task.done():
                self.task.result()
            if time.monotonic() > deadline:
                raise TimeoutError("server did not start")
            await asyncio.sleep(0.01)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            await asyncio.wait_for(self.task, 20)


class Clock:
    """The service's clock, moved by hand (edit windows)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


class Harness:
    def __init__(self, *, served: Served, database_url: str, redis: Any, streams: dict[str, str], clock: Clock) -> None:
        self.served = served
        self.database_url = database_url
        self.redis = redis
        self.streams = streams
        self.clock = clock
        self.issuer = TestIssuer()
        self.http = httpx.AsyncClient(base_url=served.url, timeout=30)

    # -- identities ----------------------------------------------------------------------------
    def headers(self, user_id: uuid.UUID, *roles: str) -> dict[str, str]:
        return self.issuer.headers(user_id, roles=roles or ("member",))

    async def get(self, path: str, user_id: uuid.UUID, *roles: str, **params: Any) -> httpx.Response:
        return await self.http.get(path, headers=self.headers(user_id, *roles), params=params)

    async def post(self, path: str, user_id: uuid.UUID, body: Any, *roles: str) -> httpx.Response:
        return await self.http.post(path, headers=self.headers(user_id, *roles), json=body)

    # -- the bus -------------------------------------------------------------------------------
    async def publish(self, producer: str, event_type: str, payload: dict[str, Any]) -> Envelope:
        envelope = Envelope(
            id=uuid.uuid4(),
            type=event_type,
            occurred_at=datetime.now(UTC),
            producer=producer,
            payload=json.loads(json.dumps(payload, default=str)),
        )
        await self.redis.xadd(self.streams[producer], envelope.to_fields())
        return envelope

    async def applied(self, *envelopes: Envelope) -> None:
        """Wait until the service's consumer has applied these messages (its inbox holds them)."""
        ids = [envelope.id for envelope in envelopes]

        async def probe() -> bool:
            rows = await self.sql("SELECT count(*) AS n FROM messaging.inbox WHERE event_id = ANY($1::uuid[])", ids)
            return rows[0]["n"] == len(ids)

        await self.wait_for(probe, what="the read model to apply the messages")

    async def user(self, *roles: str, active: bool = True) -> uuid.UUID:
        """A user auth announced (`user.registered`), applied."""
        user_id = uuid.uuid4()
        await self.applied(
            await self.publish(
                "auth", "user.registered", {"user_id": user_id, "roles": list(roles or ("member",)), "active": active}
            )
        )
        return user_id

    async def join(self, circle_id: uuid.UUID, user_id: uuid.UUID, role: str = "member") -> uuid.UUID:
        membership_id = uuid.uuid4()
        await self.applied(
            await self.publish(
                "circles",
                "membership.started",
                {"membership_id": membership_id, "circle_id": circle_id, "user_id": user_id, "role": role},
            )
        )
        return membership_id

    async def leave(self, circle_id: uuid.UUID, user_id: uuid.UUID, membership_id: uuid.UUID) -> None:
        await self.applied(
            await self.publish(
                "circles",
                "membership.ended",
                {"membership_id": membership_id, "circle_id": circle_id, "user_id": user_id, "reason": "left"},
            )
        )

    async def register(self, event_id: uuid.UUID, user_id: uuid.UUID) -> uuid.UUID:
        registration_id = uuid.uuid4()
        await self.applied(
            await self.publish(
                "circles",
                "registration.confirmed",
                {"registration_id": registration_id, "event_id": event_id, "user_id": user_id},
            )
        )
        return registration_id

    # -- database ------------------------------------------------------------------------------
    async def sql(self, query: str, *args: Any) -> list[asyncpg.Record]:
        connection = await asyncpg.connect(self.database_url)
        try:
            return await connection.fetch(query, *args)
        finally:
            await connection.close()

    async def wait_for(
        self,
        probe: Callable[[], Awaitable[Any]],
        timeout: float = 15.0,  # noqa: ASYNC109 (a polling deadline, not a cancellation scope)
        what: str = "condition",
    ) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = await probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        await self.http.aclose()


@pytest.fixture(scope="session")
async def messaging_template(engines) -> str:
    """One migrated database; each test clones it (CREATE DATABASE … TEMPLATE)."""
    url = await engines.create_database("messaging_tpl")
    config = alembic_config(MIGRATIONS_DIR, url, version_table=VERSION_TABLE, schema=SCHEMA)
    await asyncio.to_thread(upgrade_to_head, config)
    return url.rsplit("/", 1)[1]


@pytest.fixture
async def database_url(engines, messaging_template) -> str:
    name = f"messaging_{uuid.uuid4().hex[:10]}"
    connection = await asyncpg.connect(engines.server_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{messaging_template}"')
    finally:
        await connection.close()
    return engines.url_for(name)


def make_settings(database_url: str, redis_url: str, streams: dict[str, str], **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        environment="test",
        database_url=database_url,
        redis_url=redis_url,
        log_level="WARNING",
        auth_events_stream=streams["auth"],
        circles_events_stream=streams["circles"],
        payments_events_stream=streams["payments"],
    )
    values.update(overrides)
    return Settings(**values)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**values): messaging settings the harness starts the service with")


@pytest.fixture
async def harness(request, database_url, redis_url) -> AsyncIterator[Harness]:
    tag = uuid.uuid4().hex[:8]
    streams = {
        "auth": f"test:{tag}:events:auth",
        "circles": f"test:{tag}:events:circles",
        "payments": f"test:{tag}:events:payments",
    }
    clock = Clock()
    marker = request.node.get_closest_marker("settings")
    overrides = marker.kwargs if marker else {}
    served = Served(create_app(make_settings(database_url, redis_url, streams, **overrides), now=clock.now))
    await served.start()
    redis = make_redis(redis_url)
    harness = Harness(served=served, database_url=database_url, redis=redis, streams=streams, clock=clock)
    served.app.state.verifier.keys.load(harness.issuer.jwks())
    try:
        yield harness
    finally:
        await harness.aclose()
        await served.stop()
        await redis.delete(*streams.values())
        await redis.aclose()
