"""Factories and helpers for the circles tests: people, circles, memberships, the outbox,
delivering other services' events, and counting SQL statements."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import event, select, text

from mcm_circles.config import Settings
from mcm_circles.outbox import EVENTS
from mcm_circles.profiles.models import Profile
from mcm_shared.db import Database
from mcm_shared.events.envelope import Envelope
from mcm_testing.issuer import TestIssuer


@dataclass
class User:
    id: uuid.UUID
    name: str
    roles: tuple[str, ...]
    headers: dict[str, str] = field(repr=False)


@dataclass
class Api:
    client: httpx.AsyncClient
    app: FastAPI
    issuer: TestIssuer
    db: Database
    settings: Settings

    async def get(self, user: User, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, headers=user.headers, **kwargs)

    async def post(self, user: User, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return await self.client.post(path, headers=user.headers, json=json, **kwargs)

    async def patch(self, user: User, path: str, json: Any = None) -> httpx.Response:
        return await self.client.patch(path, headers=user.headers, json=json)

    async def put(self, user: User, path: str, json: Any = None) -> httpx.Response:
        return await self.client.put(path, headers=user.headers, json=json)

    async def delete(self, user: User, path: str, json: Any = None) -> httpx.Response:
        return await self.client.request("DELETE", path, headers=user.headers, json=json)

    async def scalar(self, sql: str, **params: Any) -> Any:
        async with self.db.session() as session:
            return (await session.execute(text(sql), params)).scalar()

    async def rows(self, sql: str, **params: Any) -> list[Any]:
        async with self.db.session() as session:
            return list((await session.execute(text(sql), params)).mappings())


async def make_user(api: Api, *roles: str, name: str | None = None, profile: bool = True) -> User:
    user_id = uuid.uuid4()
    name = name or f"Member {user_id.hex[:6]}"
    if profile:
        async with api.db.session() as session:
            session.add(Profile(user_id=user_id, display_name=name))
            await session.commit()
    roles = roles or ("member",)
    return User(user_id, name, roles, api.issuer.headers(user_id, roles=roles))


async def make_facilitator(api: Api, name: str | None = None) -> User:
    return await make_user(api, "member", "facilitator", name=name)


def circle_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": f"Circle {uuid.uuid4().hex[:6]}",
        "description": "Men meeting weekly to talk honestly.",
        "capacity_max": 10,
        "capacity_min": 2,
        "schedule": {"weekday": "tuesday", "time": "19:00", "timezone": "Europe/Berlin", "frequency": "weekly"},
        "location": {"city": "Berlin", "online": False},
        "visibility": "public",
        "join_policy": "open",
        "dues": None,
    }
    body.update(overrides)
    return body


async def make_circle(api: Api, facilitator: User, **overrides: Any) -> dict[str, Any]:
    response = await api.post(facilitator, "/api/v1/circles", circle_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()


async def make_member(api: Api, circle: dict[str, Any], name: str | None = None) -> User:
    user = await make_user(api, name=name)
    response = await api.post(user, f"/api/v1/circles/{circle['id']}/join")
    assert response.status_code == 201, response.text
    return user


async def outbox(api: Api, event_type: str | None = None) -> list[dict[str, Any]]:
    table = EVENTS.outbox
    stmt = select(table.c.event_type, table.c.payload, table.c.stream).order_by(table.c.position)
    if event_type:
        stmt = stmt.where(table.c.event_type == event_type)
    async with api.db.session() as session:
        return [dict(row._mapping) for row in await session.execute(stmt)]


async def notifications(api: Api, template: str) -> list[dict[str, Any]]:
    return [
        row["payload"] for row in await outbox(api, "notification.requested") if row["payload"]["template"] == template
    ]


async def deliver(
    api: Api,
    stream: str,
    event_type: str,
    payload: dict[str, Any],
    *,
    producer: str,
    occurred_at: datetime | None = None,
) -> uuid.UUID:
    """Put an event on another service's stream, as its relay would."""
    envelope = Envelope(
        id=uuid.uuid4(),
        type=event_type,
        occurred_at=occurred_at or datetime.now(UTC),
        producer=producer,
        payload=payload,
    )
    await api.app.state.redis.xadd(stream, envelope.to_fields())
    return envelope.id


async def processed(api: Api, event_id: uuid.UUID, timeout: float = 10.0) -> None:  # noqa: ASYNC109  # polling budget
    """Wait until the members consumer has recorded the event in its inbox."""
    await eventually(
        lambda: api.scalar(
            "SELECT count(*) FROM circles.inbox WHERE consumer = :group AND event_id = :id",
            group=api.settings.members_consumer_group,
            id=event_id,
        ),
        timeout=timeout,
    )


async def eventually(probe: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> Any:  # noqa: ASYNC109  # polling budget
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


@contextmanager
def count_statements(api: Api):
    """Count SQL statements the app sends while the block runs."""
    statements: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = api.app.state.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before)
