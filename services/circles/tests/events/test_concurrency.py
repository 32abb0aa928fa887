"""Capacity holds under concurrency: 500 people register at once for 50 seats."""
from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import text

from mcm_shared.testing.engines import TestEngines
from mcm_shared.testing.issuer import TestIssuer

from .conftest import open_world
from .support import World


@pytest.fixture
async def busy_world(engines: TestEngines, events_template: str, issuer: TestIssuer):
    # A pool big enough that requests queue on the event's row lock, not for a connection.
    async for opened in open_world(engines, events_template, issuer, database_pool_size=40,
                                   database_max_overflow=0, dependency_timeout_seconds=60):
        yield opened


@pytest.mark.parametrize("price", [0, 3000], ids=["free", "paid"])
async def test_500_concurrent_registrations_for_50_seats_fill_exactly_50(busy_world: World, price: int):
    world = busy_world
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=50, price={"amount": price, "currency": "EUR"})
    people = [world.issuer.headers(uuid.uuid4()) for _ in range(500)]

    async def register(headers):
        return await world.client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=headers)

    responses = await asyncio.gather(*(register(headers) for headers in people))
    assert sorted({r.status_code for r in responses}) == [201], [r.text for r in responses if r.status_code != 201][:3]
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
        rows = dict((await connection.execute(text(
            "SELECT status, count(*) FROM circles.event_registrations WHERE event_id = :e GROUP BY status"),
            {"e": event["id"]})).all())
        seats_taken = await connection.scalar(text("SELECT seats_taken FROM circles.events WHERE id = :e"),
                                              {"e": event["id"]})
    assert rows == {seat: 50, "waitlisted": 450}
    assert seats_taken == 50
    assert len(await world.outbox("registration.payment_required", event_id=event["id"])) == (0 if price == 0 else 50)


async def test_the_database_refuses_more_seats_than_capacity_even_if_code_tried(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    async with world.db.engine.connect() as connection:
        with pytest.raises(Exception) as refused:
            await connection.execute(text("UPDATE circles.events SET seats_taken = 2 WHERE id = :e"), {"e": event["id"]})
    assert "seats_within_capacity" in str(refused.value)
