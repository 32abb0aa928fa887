"""The link with payments: `obligation.settled` confirms a held seat (even after the hold ran out
if a seat is free, else a full refund — never an overbooking); `obligation.overdue` only flags."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta
from time import monotonic

from mcm_circles.events.registrations.bus import overdue, settle
from mcm_circles.events.registrations.holds import expire_holds
from mcm_shared.events import Envelope
from mcm_shared.redis import make_redis

from .support import World

PAID = {"price": {"amount": 15000, "currency": "EUR"}, "payment_plan": {"instalments": 3}}


def envelope(kind: str, registration_id: str, *, at: datetime, **extra) -> Envelope:
    return Envelope(
        id=uuid.uuid4(),
        type=kind,
        occurred_at=at,
        producer="payments",
        payload={"kind": "registration", "registration_id": registration_id, **extra},
    )


async def apply(world: World, handler, event: Envelope) -> None:
    async with world.db.session() as session:
        await handler(session, event, now=world.clock.now(), settings=world.settings)
        await session.commit()


async def test_settlement_confirms_the_held_seat(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, **PAID)
    person = await world.person()
    registration = await world.register(person, event["id"])
    assert registration["instalments"] == 3
    await apply(world, settle, envelope("obligation.settled", registration["id"], at=world.clock.now(), instalment=1))
    mine = await world.get(f"/api/v1/events/{event['id']}/registrations/me", person)
    assert (mine["status"], mine["hold_expires_at"]) == ("confirmed", None)
    assert (await world.get(f"/api/v1/events/{event['id']}", ptm))["confirmed_count"] == 1
    # Time passing no longer matters: the seat is paid for.
    world.clock.advance(hours=2)
    await expire_holds(world.db.sessionmaker, now=world.clock.now(), settings=world.settings)
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", person))["status"] == "confirmed"


async def test_late_payment_gets_a_free_seat_or_a_full_refund_never_an_overbooking(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1, **PAID)
    slow, waiting, alone = await world.person(), await world.person(), await world.person()
    late = await world.register(slow, event["id"])
    await world.register(waiting, event["id"])
    world.clock.advance(minutes=31)
    await expire_holds(world.db.sessionmaker, now=world.clock.now(), settings=world.settings)  # seat → waiting
    await apply(world, settle, envelope("obligation.settled", late["id"], at=world.clock.now()))
    mine = await world.get(f"/api/v1/events/{event['id']}/registrations/me", slow)
    assert (mine["status"], mine["cancel_reason"], mine["refund"]) == ("cancelled", "no_seat_after_payment", "full")
    [refund] = await world.outbox("registration.cancelled", registration_id=late["id"])
    assert (refund["refund"], refund["reason"], refund["amount"]) == ("full", "no_seat_after_payment", 15000)
    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert seen["seats_available"] == 0

    # With a seat still free, the late payer keeps it.
    roomy = await world.published_event(ptm, capacity=2, **PAID)
    held = await world.register(alone, roomy["id"])
    world.clock.advance(minutes=31)
    await expire_holds(world.db.sessionmaker, now=world.clock.now(), settings=world.settings)
    await apply(world, settle, envelope("obligation.settled", held["id"], at=world.clock.now()))
    mine = await world.get(f"/api/v1/events/{roomy['id']}/registrations/me", alone)
    assert mine["status"] == "confirmed"
    assert (await world.get(f"/api/v1/events/{roomy['id']}", ptm))["confirmed_count"] == 1


async def test_overdue_instalment_flags_for_staff_and_cancels_nothing(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, **PAID)
    person = await world.person(name="Paying Paul")
    registration = await world.register(person, event["id"])
    start = world.clock.now()
    await apply(world, settle, envelope("obligation.settled", registration["id"], at=start, instalment=1))
    await apply(
        world, overdue, envelope("obligation.overdue", registration["id"], at=start + timedelta(days=30), instalment=2)
    )
    flagged = await world.get(f"/api/v1/events/{event['id']}/registrations?payment_overdue=true", ptm)
    assert [(r["display_name"], r["status"], r["payment_overdue"]) for r in flagged["items"]] == [
        ("Paying Paul", "confirmed", True)
    ]
    # An older event delivered late changes nothing; a newer settlement clears the flag.
    await apply(world, settle, envelope("obligation.settled", registration["id"], at=start + timedelta(days=1)))
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations?payment_overdue=true", ptm))["items"]
    await apply(
        world, settle, envelope("obligation.settled", registration["id"], at=start + timedelta(days=31), instalment=2)
    )
    assert not (await world.get(f"/api/v1/events/{event['id']}/registrations?payment_overdue=true", ptm))["items"]
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", person))["status"] == "confirmed"


async def test_payments_events_arrive_through_the_stream_once_each(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, **PAID)
    person = await world.person()
    registration = await world.register(person, event["id"])
    redis = make_redis(world.app.state.settings.redis_url)
    try:
        settled = envelope("obligation.settled", registration["id"], at=world.clock.now())
        other = Envelope(
            id=uuid.uuid4(),
            type="obligation.settled",
            occurred_at=world.clock.now(),
            producer="payments",
            payload={"kind": "membership", "membership_id": str(uuid.uuid4())},
        )
        for entry in (other, settled, settled):  # the duplicate is applied once (inbox)
            await redis.xadd(world.app.state.runtime.settings.payments_events_stream, entry.to_fields())
        deadline = monotonic() + 20
        while (await world.get(f"/api/v1/events/{event['id']}/registrations/me", person))["status"] != "confirmed":
            assert monotonic() < deadline, "the consumer did not apply obligation.settled"
            await asyncio.sleep(0.05)
        while (
            await redis.xpending(
                world.app.state.runtime.settings.payments_events_stream,
                world.app.state.runtime.settings.members_consumer_group,
            )
        )["pending"]:
            assert monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        await redis.aclose()
    assert (await world.get(f"/api/v1/events/{event['id']}", ptm))["confirmed_count"] == 1
