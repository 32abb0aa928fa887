"""Capacity holds under concurrency: 500 people register at once for 50 seats, through two app
instances (two replicas) on one database, so the event's row lock is contended across processes."""

from __future__ import annotations

import asyncio
import uuid
from contextlib import AsyncExitStack

import pytest
from sqlalchemy import text

from mcm_testing.engines import TestEngines
from mcm_testing.issuer import TestIssuer

from .conftest import events_database, open_world
from .support import World

# A pool big enough that requests queue on the event, not for a connection.
POOL = {"database_pool_size": 20, "database_max_overflow": 0, "dependency_timeout_seconds": 60}


@pytest.fixture
async def replicas(engines: TestEngines, issuer: TestIssuer):
    url = await events_database(engines)
    async with AsyncExitStack() as stack:
        worlds = []
        for _ in range(2):
            opened = open_world(engines, issuer, url=url, **POOL)
            worlds.append(await opened.__anext__())
            stack.push_async_callback(opened.aclose)
        yield worlds


@pytest.mark.parametrize("price", [0, 3000], ids=["free", "paid"])
async def test_500_concurrent_registrations_for_50_seats_fill_exactly_50(replicas: list[World], price: int):
    world, other = replicas
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=50, price={"amount": price, "currency": "EUR"})
    people = [world.issuer.headers(uuid.uuid4()) for _ in range(500)]

    async def register(n: int, headers: dict[str, str]):
        client = (world if n % 2 else other).client
        return await client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=headers)

    responses = await asyncio.gather(*(register(n, headers) for n, headers in enumerate(people)))
    assert {r.status_code for r in responses} == {201}, [r.text for r in responses if r.status_code != 201][:3]
    statuses = [r.json()["status"] for r in responses]
    seat = "confirmed" if price == 0 else "pending_payment"
    assert statuses.count(seat) == 50
    assert statuses.count("waitlisted") == 450
    positions = sorted(r.json()["waitlist_position"] for r in responses if r.json()["status"] == "waitlisted")
    assert positions == list(range(1, 451))

    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (seen["waitlist_count"], seen["seats_available"]) == (450, 0)
    assert seen["confirmed_count"] == (50 if price == 0 else 0)
    async with world.db.engine.connect() as connection:
        rows = dict(
            (
                await connection.execute(
                    text(
                        "SELECT status, count(*) FROM circles.event_registrations WHERE event_id = :e GROUP BY status"
                    ),
                    {"e": event["id"]},
                )
            ).all()
        )
        seats_taken = await connection.scalar(
            text("SELECT seats_taken FROM circles.events WHERE id = :e"), {"e": event["id"]}
        )
    assert rows == {seat: 50, "waitlisted": 450}
    assert seats_taken == 50
    assert len(await world.outbox("registration.payment_required", event_id=event["id"])) == (0 if price == 0 else 50)


async def test_the_same_person_registering_twice_at_once_gets_one_registration(replicas: list[World]):
    world, other = replicas
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=5)
    person = await world.person()
    responses = await asyncio.gather(
        *(
            (world if n % 2 else other).client.post(
                f"/api/v1/events/{event['id']}/registrations", json={}, headers=person.headers
            )
            for n in range(10)
        )
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 9
    assert (await world.get(f"/api/v1/events/{event['id']}", ptm))["confirmed_count"] == 1


async def test_the_database_refuses_more_seats_than_capacity_even_if_code_tried(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    async with world.db.engine.connect() as connection:
        with pytest.raises(Exception) as refused:
            await connection.execute(
                text("UPDATE circles.events SET seats_taken = 2 WHERE id = :e"), {"e": event["id"]}
            )
    assert "seats_within_capacity" in str(refused.value)
