"""Seat holds expire on a controllable clock; freed seats go to the first waiting person, who is
notified; staff reorder the waitlist and promote by hand."""

from __future__ import annotations

from datetime import timedelta

from mcm_circles.events.registrations.holds import EventsSweeper, expire_holds

from .support import START, World

PAID = {"price": {"amount": 4000, "currency": "EUR"}}


async def test_expired_hold_frees_the_seat_for_the_first_waiting_person(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1, **PAID)
    holder, first, second = await world.person(), await world.person(), await world.person()
    held = await world.register(holder, event["id"])
    assert held["status"] == "pending_payment"
    assert (await world.register(first, event["id"]))["waitlist_position"] == 1
    assert (await world.register(second, event["id"]))["waitlist_position"] == 2

    world.clock.advance(minutes=29)
    assert await expire_holds(world.db.sessionmaker, now=world.clock.now(), settings=world.settings) == 0
    world.clock.advance(minutes=1)
    assert await expire_holds(world.db.sessionmaker, now=world.clock.now(), settings=world.settings) == 1

    expired = await world.get(f"/api/v1/events/{event['id']}/registrations/me", holder)
    assert (expired["status"], expired["id"]) == ("expired", held["id"])
    promoted = await world.get(f"/api/v1/events/{event['id']}/registrations/me", first)
    assert promoted["status"] == "pending_payment"
    assert promoted["waitlist_position"] is None
    assert promoted["hold_expires_at"] == (START + timedelta(minutes=60)).isoformat().replace("+00:00", "Z")
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", second))["waitlist_position"] == 1

    assert await world.outbox("registration.expired", registration_id=held["id"])
    # What happened is published; messaging's notification centre tells him.
    [notice] = await world.outbox("registration.promoted")
    assert (notice["user_id"], notice["status"]) == (str(first.user_id), "pending_payment")
    assert notice["hold_expires_at"] == (START + timedelta(minutes=60)).isoformat()
    assert [n for n in await world.outbox("notification.requested") if n["template"] == "waitlist_promoted"] == []
    # The promoted person is asked to pay, with a fresh hold.
    [payment] = await world.outbox("registration.payment_required", registration_id=promoted["id"])
    assert payment["hold_expires_at"] == (START + timedelta(minutes=60)).isoformat()
    # Registering again after the hold expired is allowed (a new registration, at the back).
    again = await world.register(holder, event["id"])
    assert (again["status"], again["waitlist_position"]) == ("waitlisted", 2)


async def test_expiry_is_applied_lazily_when_nobody_ran_the_sweep(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1, **PAID)
    holder, waiting = await world.person(), await world.person()
    await world.register(holder, event["id"])
    await world.register(waiting, event["id"])
    world.clock.advance(minutes=31)
    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (seen["waitlist_count"], seen["seats_available"]) == (0, 0)
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", waiting))["status"] == "pending_payment"
    assert (await world.get(f"/api/v1/events/{event['id']}/registrations/me", holder))["status"] == "expired"


async def test_the_background_sweeper_expires_holds_with_the_apps_clock(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=3, **PAID)
    holder = await world.person()
    held = await world.register(holder, event["id"])
    sweeper = EventsSweeper(world.db.sessionmaker, world.clock, world.settings)
    world.clock.advance(hours=1)
    await sweeper.sweep()
    assert await world.outbox("registration.expired", registration_id=held["id"])
    # An event whose end has passed is completed by the same sweep.
    world.clock.set(START + timedelta(days=31))
    await sweeper.sweep()
    assert (await world.get(f"/api/v1/events/{event['id']}", ptm))["status"] == "completed"


async def test_a_cancellation_promotes_the_first_waiting_person_to_confirmed_on_a_free_event(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    seated, waiting = await world.person(), await world.person()
    await world.register(seated, event["id"])
    await world.register(waiting, event["id"])
    response = await world.client.delete(f"/api/v1/events/{event['id']}/registrations/me", headers=seated.headers)
    assert response.json()["status"] == "cancelled"
    promoted = await world.get(f"/api/v1/events/{event['id']}/registrations/me", waiting)
    assert (promoted["status"], promoted["waitlist_position"]) == ("confirmed", None)
    notices = await world.outbox("registration.promoted")
    assert [n["user_id"] for n in notices] == [str(waiting.user_id)]


async def test_raising_the_capacity_promotes_waiting_people_in_order(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    people = [await world.person() for _ in range(4)]
    for person in people:
        await world.register(person, event["id"])
    response = await world.client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 3}, headers=ptm.headers)
    assert (response.json()["confirmed_count"], response.json()["waitlist_count"]) == (3, 1)
    statuses = [(await world.get(f"/api/v1/events/{event['id']}/registrations/me", p))["status"] for p in people]
    assert statuses == ["confirmed", "confirmed", "confirmed", "waitlisted"]


async def test_staff_reorder_the_waitlist_and_promote_by_hand(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=1)
    await world.register(await world.person(), event["id"])
    waiting = [await world.person(name=f"Waiting {n}") for n in range(4)]
    ids = [(await world.register(person, event["id"]))["id"] for person in waiting]

    moved = await world.post(f"/api/v1/events/{event['id']}/waitlist/{ids[3]}/move", ptm, json={"position": 1})
    assert moved["waitlist_position"] == 1
    listing = await world.get(f"/api/v1/events/{event['id']}/waitlist", ptm)
    assert [p["display_name"] for p in listing["items"]] == ["Waiting 3", "Waiting 0", "Waiting 1", "Waiting 2"]
    assert [p["waitlist_position"] for p in listing["items"]] == [1, 2, 3, 4]
    await world.post(f"/api/v1/events/{event['id']}/waitlist/{ids[0]}/move", ptm, json={"position": 99})
    listing = await world.get(f"/api/v1/events/{event['id']}/waitlist?limit=2", ptm)
    assert [p["display_name"] for p in listing["items"]] == ["Waiting 3", "Waiting 1"]
    rest = await world.get(f"/api/v1/events/{event['id']}/waitlist?limit=2&cursor={listing['next_cursor']}", ptm)
    assert [p["display_name"] for p in rest["items"]] == ["Waiting 2", "Waiting 0"]

    # No seat free: promoting by hand is refused unless staff add a seat for that person.
    full = await world.client.post(f"/api/v1/events/{event['id']}/registrations/{ids[2]}/promote", headers=ptm.headers)
    assert full.status_code == 409
    promoted = await world.post(
        f"/api/v1/events/{event['id']}/registrations/{ids[2]}/promote", ptm, json={"extend_capacity": True}
    )
    assert promoted["status"] == "confirmed"
    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (seen["capacity"], seen["confirmed_count"], seen["waitlist_count"]) == (2, 2, 3)
    listing = await world.get(f"/api/v1/events/{event['id']}/waitlist", ptm)
    assert [(p["display_name"], p["waitlist_position"]) for p in listing["items"]] == [
        ("Waiting 3", 1),
        ("Waiting 1", 2),
        ("Waiting 0", 3),
    ]
    member = waiting[0]
    assert (
        await world.client.post(
            f"/api/v1/events/{event['id']}/waitlist/{ids[0]}/move", json={"position": 1}, headers=member.headers
        )
    ).status_code == 403
    assert (await world.client.get(f"/api/v1/events/{event['id']}/waitlist", headers=member.headers)).status_code == 403
