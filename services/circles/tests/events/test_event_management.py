"""Creating, editing, publishing, listing and seeing events; who may do which."""

from __future__ import annotations

import uuid
from datetime import timedelta

from .support import START, World


async def test_ptm_creates_a_draft_and_publishes_it(world: World):
    ptm = await world.person("ptm")
    event = await world.create_event(
        ptm,
        price={"amount": 25000, "currency": "EUR"},
        payment_plan={"instalments": 3},
        type="multi_day_retreat",
        starts_at=START + timedelta(days=40),
    )
    assert event["status"] == "draft"
    assert event["price"] == {"amount": 25000, "currency": "EUR"}
    assert event["payment_plan"] == {"instalments": 3}
    assert (event["confirmed_count"], event["waitlist_count"], event["seats_available"]) == (0, 0, 10)
    published = await world.post(f"/api/v1/events/{event['id']}/publish", ptm)
    assert published["status"] == "published"
    again = await world.client.post(f"/api/v1/events/{event['id']}/publish", headers=ptm.headers)
    assert again.status_code == 409


async def test_invalid_events_are_refused_with_field_errors(world: World):
    admin = await world.person("admin")
    cases = [
        {"ends_at": (START + timedelta(days=29)).isoformat()},  # ends before it starts
        {"timezone": "Mars/Olympus"},
        {"capacity": 0},
        {"price": {"amount": 0, "currency": "EUR"}, "payment_plan": {"instalments": 3}},
        {"payment_plan": {"instalments": 13}, "price": {"amount": 100, "currency": "EUR"}},
        {"price": {"amount": 100, "currency": "euro"}},
        {"visibility": "circles"},  # no circle given
        {"location": {"online": False}},
        {"starts_at": "2030-04-01T10:00:00"},  # no offset
        {"role": "admin"},  # unknown field
    ]
    from .support import event_body

    for case in cases:
        response = await world.client.post("/api/v1/events", json={**event_body(), **case}, headers=admin.headers)
        assert response.status_code == 422, (case, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    unknown_type = await world.client.post("/api/v1/events", json=event_body(type="rave"), headers=admin.headers)
    assert unknown_type.status_code == 422
    assert unknown_type.json()["errors"][0]["loc"] == ["body", "type"]


async def test_event_types_come_from_the_lookup_table(world: World):
    member = await world.person()
    types = await world.get("/api/v1/events/types", member)
    assert {t["code"] for t in types} == {"movie_night", "workshop", "day_retreat", "multi_day_retreat", "meetup"}


async def test_members_cannot_create_events_and_facilitators_only_for_their_circles(world: World):
    from .support import event_body

    member = await world.person()
    assert (await world.client.post("/api/v1/events", json=event_body())).status_code == 401
    response = await world.client.post("/api/v1/events", json=event_body(), headers=member.headers)
    assert response.status_code == 403
    service = {"Authorization": f"Bearer {world.issuer.token('svc:payments', roles=['admin'], sid=None)}"}
    assert (await world.client.post("/api/v1/events", json=event_body(), headers=service)).status_code == 403
    facilitator = await world.person("facilitator")
    own = await world.circle(facilitator)
    other = await world.circle(await world.person("facilitator"))
    assert (
        await world.client.post("/api/v1/events", json=event_body(), headers=facilitator.headers)
    ).status_code == 403
    refused = await world.client.post(
        "/api/v1/events", json=event_body(circle_ids=[str(own), str(other)]), headers=facilitator.headers
    )
    assert refused.status_code == 403
    event = await world.create_event(facilitator, circle_ids=[str(own)], visibility="circles")
    assert event["circle_ids"] == [str(own)]


async def test_facilitator_manages_his_circles_events_but_not_others(world: World):
    ptm = await world.person("ptm")
    facilitator = await world.person("facilitator")
    circle = await world.circle(facilitator)
    mine = await world.create_event(ptm, circle_ids=[str(circle)])
    theirs = await world.published_event(ptm)
    patched = await world.client.patch(
        f"/api/v1/events/{mine['id']}", json={"title": "New title"}, headers=facilitator.headers
    )
    assert patched.status_code == 200 and patched.json()["title"] == "New title"
    # Published and visible, but not his to manage: 403. A draft he may not see: 404.
    assert (
        await world.client.patch(f"/api/v1/events/{theirs['id']}", json={"title": "x"}, headers=facilitator.headers)
    ).status_code == 403
    draft = await world.create_event(ptm)
    assert (
        await world.client.patch(f"/api/v1/events/{draft['id']}", json={"title": "x"}, headers=facilitator.headers)
    ).status_code == 404
    assert (
        await world.client.post(f"/api/v1/events/{draft['id']}/publish", headers=facilitator.headers)
    ).status_code == 404


async def test_drafts_and_events_a_person_may_not_see_are_404(world: World):
    ptm = await world.person("ptm")
    member, insider, invited = await world.person(), await world.person(), await world.person()
    circle = await world.circle(await world.person("facilitator"), insider)
    draft = await world.create_event(ptm)
    for_circle = await world.published_event(ptm, visibility="circles", circle_ids=[str(circle)])
    invite_only = await world.published_event(ptm, visibility="invited", invited_user_ids=[str(invited.user_id)])
    public = await world.published_event(ptm)

    for event in (draft, for_circle, invite_only):
        await world.get(f"/api/v1/events/{event['id']}", member, expect=404)
        await world.register(member, event["id"], expect=404)
    await world.get(f"/api/v1/events/{uuid.uuid4()}", member, expect=404)
    await world.get(f"/api/v1/events/{public['id']}", member)
    await world.get(f"/api/v1/events/{for_circle['id']}", insider)
    seen = await world.get(f"/api/v1/events/{invite_only['id']}", invited)
    assert seen["invited_user_ids"] is None  # the guest list is for managers
    assert (await world.get(f"/api/v1/events/{invite_only['id']}", ptm))["invited_user_ids"] == [str(invited.user_id)]

    listed = {e["id"] for e in (await world.get("/api/v1/events?limit=100", member))["items"]}
    assert public["id"] in listed and not listed & {draft["id"], for_circle["id"], invite_only["id"]}
    listed = {e["id"] for e in (await world.get("/api/v1/events?limit=100", insider))["items"]}
    assert for_circle["id"] in listed and invite_only["id"] not in listed
    listed = {e["id"] for e in (await world.get("/api/v1/events?limit=100", ptm))["items"]}
    assert {draft["id"], for_circle["id"], invite_only["id"], public["id"]} <= listed


async def test_list_pages_with_a_cursor_and_filters(world: World):
    ptm = await world.person("ptm")
    member = await world.person()
    created = [
        await world.published_event(ptm, starts_at=START + timedelta(days=10 + n), type=kind)
        for n, kind in enumerate(["workshop", "meetup", "workshop", "movie_night", "workshop"])
    ]
    seen, cursor = [], None
    while True:
        page = await world.get("/api/v1/events?limit=2" + (f"&cursor={cursor}" if cursor else ""), member)
        seen += [event["id"] for event in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [event["id"] for event in created]
    workshops = await world.get("/api/v1/events?type=workshop&sort=-starts_at", member)
    assert [e["id"] for e in workshops["items"]] == [created[4]["id"], created[2]["id"], created[0]["id"]]
    later = await world.get(
        f"/api/v1/events?from={(START + timedelta(days=13)).isoformat().replace('+', '%2B')}", member
    )
    assert [e["id"] for e in later["items"]] == [created[3]["id"], created[4]["id"]]
    assert (await world.client.get("/api/v1/events?cursor=garbage", headers=member.headers)).status_code == 422
    assert (await world.client.get("/api/v1/events?sort=title", headers=member.headers)).status_code == 422


async def test_price_is_frozen_after_publishing_and_capacity_cannot_drop_below_seats(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(ptm, capacity=2)
    for _ in range(2):
        await world.register(await world.person(), event["id"])
    price = await world.client.patch(
        f"/api/v1/events/{event['id']}", json={"price": {"amount": 100, "currency": "EUR"}}, headers=ptm.headers
    )
    assert price.status_code == 409
    shrink = await world.client.patch(f"/api/v1/events/{event['id']}", json={"capacity": 1}, headers=ptm.headers)
    assert shrink.status_code == 409 and shrink.json()["seats_taken"] == 2
    bad = await world.client.patch(
        f"/api/v1/events/{event['id']}", json={"ends_at": (START + timedelta(days=1)).isoformat()}, headers=ptm.headers
    )
    assert bad.status_code == 422
    still = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (still["capacity"], still["confirmed_count"], still["price"]["amount"]) == (2, 2, 0)
