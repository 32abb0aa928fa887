"""Cancelling an event: every registration cancelled, `event.cancelled` for payments, everyone told."""

from __future__ import annotations

from sqlalchemy import text

from .support import World


async def test_cancelling_an_event_cancels_everyone_and_publishes_what_payments_needs(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=2, price={"amount": 9000, "currency": "EUR"})
    people = [await world.person() for _ in range(3)]
    for person in people:
        await world.register(person, event["id"])
    response = await world.client.post(
        f"/api/v1/events/{event['id']}/cancel", json={"reason": "Venue flooded"}, headers=ptm.headers
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["confirmed_count"], body["waitlist_count"], body["seats_available"]) == (
        "cancelled",
        0,
        0,
        2,
    )

    [cancelled] = await world.outbox("event.cancelled", event_id=event["id"])
    assert (cancelled["title"], cancelled["reason"]) == (event["title"], "Venue flooded")
    [notice] = [n for n in await world.outbox("notification.requested") if n["template"] == "event_cancelled"]
    assert notice["recipient_user_ids"] == sorted(str(p.user_id) for p in people)
    assert notice["data"]["title"] == event["title"]
    for person in people:
        mine = await world.get(f"/api/v1/events/{event['id']}/registrations/me", person)
        assert (mine["status"], mine["cancel_reason"], mine["waitlist_position"]) == (
            "cancelled",
            "event_cancelled",
            None,
        )
    async with world.db.engine.connect() as connection:
        active = await connection.scalar(
            text("SELECT count(*) FROM circles.event_registrations WHERE event_id = :e AND status <> 'cancelled'"),
            {"e": event["id"]},
        )
    assert active == 0

    # A cancelled event stays visible to its registrants, takes no registrations and no edits.
    await world.register(await world.person(), event["id"], expect=409)
    assert (
        await world.client.patch(f"/api/v1/events/{event['id']}", json={"title": "x"}, headers=ptm.headers)
    ).status_code == 409
    assert (await world.client.post(f"/api/v1/events/{event['id']}/cancel", headers=ptm.headers)).status_code == 409


async def test_only_managers_cancel_and_a_draft_cancels_silently(world: World):
    ptm = await world.person("ptm")
    member = await world.person()
    event = await world.published_event(ptm)
    assert (await world.client.post(f"/api/v1/events/{event['id']}/cancel", headers=member.headers)).status_code == 403
    draft = await world.create_event(ptm)
    assert (await world.client.post(f"/api/v1/events/{draft['id']}/cancel", headers=member.headers)).status_code == 404
    assert (await world.client.post(f"/api/v1/events/{draft['id']}/cancel", headers=ptm.headers)).status_code == 200
    assert await world.outbox("event.cancelled", event_id=draft["id"]) == []
