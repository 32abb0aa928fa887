"""Registering: confirmed when free, a seat hold when paid, the waitlist when full; one active
registration per person; cancelling one's own with the refund rule."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from .support import START, World


async def test_free_event_confirms_and_full_event_waitlists_in_order(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=2)
    people = [await world.person() for _ in range(4)]
    results = [await world.register(person, event["id"]) for person in people]
    assert [r["status"] for r in results] == ["confirmed", "confirmed", "waitlisted", "waitlisted"]
    assert [r["waitlist_position"] for r in results] == [None, None, 1, 2]
    assert all(r["hold_expires_at"] is None for r in results)
    assert results[0]["event_id"] == event["id"]
    counts = await world.get(f"/api/v1/events/{event['id']}", people[0])
    assert (counts["confirmed_count"], counts["waitlist_count"], counts["seats_available"]) == (2, 2, 0)
    me = await world.get(f"/api/v1/events/{event['id']}/registrations/me", people[3])
    assert (me["id"], me["status"], me["waitlist_position"]) == (results[3]["id"], "waitlisted", 2)


async def test_paid_event_holds_a_seat_and_asks_payments_for_the_money(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(
        ptm, price={"amount": 12000, "currency": "EUR"}, payment_plan={"instalments": 4}
    )
    person = await world.person()
    registration = await world.register(person, event["id"])
    assert registration["status"] == "pending_payment"
    assert registration["hold_expires_at"] == (START + timedelta(minutes=30)).isoformat().replace("+00:00", "Z")
    [message] = await world.outbox("registration.payment_required", registration_id=registration["id"])
    assert message == {
        "registration_id": registration["id"],
        "event_id": event["id"],
        "user_id": str(person.user_id),
        "amount": 12000,
        "currency": "EUR",
        "instalments": 4,
        "hold_expires_at": (START + timedelta(minutes=30)).isoformat(),
        "title": event["title"],
    }
    seen = await world.get(f"/api/v1/events/{event['id']}", person)
    assert (seen["confirmed_count"], seen["seats_available"]) == (0, 9)  # held, not confirmed


async def test_one_active_registration_per_person_and_idempotent_retries(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm)
    person = await world.person()
    headers = {**person.headers, "Idempotency-Key": "reg-1234"}
    first = await world.client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=headers)
    retry = await world.client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=headers)
    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"]
    again = await world.client.post(f"/api/v1/events/{event['id']}/registrations", json={}, headers=person.headers)
    assert again.status_code == 409 and again.json()["registration_id"] == first.json()["id"]
    async with world.db.engine.begin() as connection:
        count = await connection.scalar(
            text("SELECT count(*) FROM circles.event_registrations WHERE event_id = :e"), {"e": event["id"]}
        )
    assert count == 1


async def test_registration_is_refused_outside_its_window(world: World):
    ptm = await world.person("ptm")
    person = await world.person()
    later = await world.published_event(ptm, registration_opens_at=START + timedelta(days=1))
    response = await world.client.post(f"/api/v1/events/{later['id']}/registrations", json={}, headers=person.headers)
    assert response.status_code == 409 and response.json()["type"].endswith("/registration-closed")
    world.clock.advance(days=1)
    await world.register(person, later["id"])
    closing = await world.published_event(ptm, registration_closes_at=START + timedelta(days=3))
    world.clock.advance(days=2)
    await world.register(person, closing["id"], expect=409)
    draft = await world.create_event(ptm)
    assert (
        await world.client.post(f"/api/v1/events/{draft['id']}/registrations", json={}, headers=person.headers)
    ).status_code == 404


async def test_cancelling_a_paid_registration_refunds_in_full_before_the_cutoff_only(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(
        ptm, price={"amount": 5000, "currency": "EUR"}, capacity=1, starts_at=START + timedelta(days=10)
    )
    early, late, waiting = await world.person(), await world.person(), await world.person()
    first = await world.register(early, event["id"])
    await _settle(world, first["id"])
    await world.register(waiting, event["id"])
    response = await world.client.delete(f"/api/v1/events/{event['id']}/registrations/me", headers=early.headers)
    assert response.status_code == 200
    assert (response.json()["status"], response.json()["refund"], response.json()["cancel_reason"]) == (
        "cancelled",
        "full",
        "by_participant",
    )
    [message] = await world.outbox("registration.cancelled", registration_id=first["id"])
    assert (message["refund"], message["amount"], message["user_id"]) == ("full", 5000, str(early.user_id))
    # The seat went to the waiting person, who now has a hold to pay.
    promoted = await world.get(f"/api/v1/events/{event['id']}/registrations/me", waiting)
    assert promoted["status"] == "pending_payment"
    await _settle(world, promoted["id"])

    world.clock.set(START + timedelta(days=9))  # within the 72 h cut-off
    await world.register(late, event["id"])  # waitlisted
    response = await world.client.delete(f"/api/v1/events/{event['id']}/registrations/me", headers=waiting.headers)
    assert response.json()["refund"] == "none"
    [message] = await world.outbox("registration.cancelled", registration_id=promoted["id"])
    assert message["refund"] == "none"
    assert (
        await world.client.delete(f"/api/v1/events/{event['id']}/registrations/me", headers=waiting.headers)
    ).status_code == 404
    # Registering again after cancelling is allowed: the unique index covers active ones only.
    again = await world.register(waiting, event["id"])
    assert again["status"] == "waitlisted"


async def _settle(world: World, registration_id: str) -> None:
    import uuid

    from mcm_circles.events.registrations.bus import settle
    from mcm_shared.events import Envelope

    envelope = Envelope(
        id=uuid.uuid4(),
        type="obligation.settled",
        occurred_at=world.clock.now(),
        producer="payments",
        payload={"kind": "registration", "registration_id": registration_id},
    )
    async with world.db.session() as session:
        await settle(session, envelope, now=world.clock.now(), settings=world.settings)
        await session.commit()
