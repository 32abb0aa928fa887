"""Admins manage event types without a migration: add, relabel, deactivate (a type in use is
never deleted), and event creation takes only active types."""

from __future__ import annotations

from .support import World, event_body


async def test_admins_add_relabel_and_deactivate_event_types(world: World):
    admin = await world.person("admin")
    ptm = await world.person("ptm")
    added = await world.post("/api/v1/event-types", admin, 201, {"code": "sweat_lodge", "label": "Sweat lodge"})
    assert added == {"code": "sweat_lodge", "label": "Sweat lodge", "active": True}
    await world.post("/api/v1/event-types", admin, 409, {"code": "sweat_lodge", "label": "Again"})
    await world.post("/api/v1/event-types", admin, 422, {"code": "Bad Key", "label": "x"})

    # A new event may take the new type at once.
    event = await world.create_event(ptm, type="sweat_lodge")
    assert event["type"] == "sweat_lodge"

    relabelled = await world.client.patch(
        "/api/v1/event-types/sweat_lodge", json={"label": "Sweat lodge ceremony"}, headers=admin.headers
    )
    assert relabelled.json() == {"code": "sweat_lodge", "label": "Sweat lodge ceremony", "active": True}

    # In use: not deleted, deactivated; the existing event keeps it, a new one cannot take it.
    in_use = await world.client.delete("/api/v1/event-types/sweat_lodge", headers=admin.headers)
    assert (in_use.status_code, in_use.json()["type"].rsplit("/", 1)[-1]) == (409, "event-type-in-use")
    deactivated = await world.client.patch(
        "/api/v1/event-types/sweat_lodge", json={"active": False}, headers=admin.headers
    )
    assert deactivated.json()["active"] is False
    refused = await world.client.post("/api/v1/events", json=event_body(type="sweat_lodge"), headers=ptm.headers)
    assert refused.status_code == 422 and refused.json()["errors"][0]["loc"] == ["body", "type"]
    assert (await world.get(f"/api/v1/events/{event['id']}", ptm))["type"] == "sweat_lodge"
    # Editing the event without changing its (now inactive) type still works; switching to it does not.
    edited = await world.client.patch(
        f"/api/v1/events/{event['id']}", json={"type": "sweat_lodge", "title": "Renamed"}, headers=ptm.headers
    )
    assert edited.status_code == 200, edited.text
    other = await world.create_event(ptm)
    switched = await world.client.patch(
        f"/api/v1/events/{other['id']}", json={"type": "sweat_lodge"}, headers=ptm.headers
    )
    assert switched.status_code == 422

    listed = {t["code"]: t["active"] for t in await world.get("/api/v1/event-types", ptm)}
    assert listed["sweat_lodge"] is False and listed["workshop"] is True
    creatable = {t["code"] for t in await world.get("/api/v1/events/types", ptm)}
    assert "sweat_lodge" not in creatable and "workshop" in creatable

    # An unused type is deleted outright.
    await world.post("/api/v1/event-types", admin, 201, {"code": "kayak", "label": "Kayak trip"})
    assert (await world.client.delete("/api/v1/event-types/kayak", headers=admin.headers)).status_code == 204
    assert "kayak" not in {t["code"] for t in await world.get("/api/v1/event-types", ptm)}
    missing = await world.client.patch("/api/v1/event-types/kayak", json={"active": True}, headers=admin.headers)
    assert missing.status_code == 404


async def test_only_admins_manage_event_types(world: World):
    for role in ("member", "ptm", "facilitator", "leadership", "support"):
        person = await world.person(role)
        await world.post("/api/v1/event-types", person, 403, {"code": "retreat_x", "label": "X"})
        response = await world.client.patch(
            "/api/v1/event-types/workshop", json={"active": False}, headers=person.headers
        )
        assert response.status_code == 403
        assert (await world.client.delete("/api/v1/event-types/meetup", headers=person.headers)).status_code == 403
    assert (await world.client.get("/api/v1/event-types")).status_code == 401
    member = await world.person()
    assert {t["code"] for t in await world.get("/api/v1/event-types", member)} >= {"workshop", "meetup"}
