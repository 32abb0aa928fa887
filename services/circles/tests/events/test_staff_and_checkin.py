"""Event staff, care-team assignments, the staff-only participant list and check-in."""

from __future__ import annotations

from .support import World


async def _setup(world: World):
    ptm = await world.person("ptm")
    event = await world.published_event(
        ptm,
        capacity=2,
        requirements=[{"kind": "questions", "questions": [{"id": "diet", "prompt": "Diet?", "required": False}]}],
    )
    care = await world.person(name="Care Carl")
    helper = await world.person(name="Support Sam")
    sponsor = await world.person(name="Sponsor Sven")
    alice = await world.person(name="Alice")
    bob = await world.person(name="Bob")
    carl = await world.person(name="Carl")
    return ptm, event, care, helper, sponsor, alice, bob, carl


async def test_staff_are_added_by_managers_and_do_not_take_seats(world: World):
    ptm, event, care, helper, *_ = await _setup(world)
    added = await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=201, json={"user_id": str(care.user_id), "role": "care_team"}
    )
    assert (added["display_name"], added["role"]) == ("Care Carl", "care_team")
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=201, json={"user_id": str(helper.user_id), "role": "support"}
    )
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=409, json={"user_id": str(helper.user_id), "role": "support"}
    )
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=422, json={"user_id": str(helper.user_id), "role": "bouncer"}
    )
    # Staff may not add staff; members neither.
    await world.post(
        f"/api/v1/events/{event['id']}/staff",
        helper,
        expect=403,
        json={"user_id": str(care.user_id), "role": "support"},
    )
    seen = await world.get(f"/api/v1/events/{event['id']}", ptm)
    assert (seen["seats_available"], seen["confirmed_count"]) == (2, 0)
    staff = await world.get(f"/api/v1/events/{event['id']}/staff", helper)
    assert {(s["display_name"], s["role"]) for s in staff} == {("Care Carl", "care_team"), ("Support Sam", "support")}


async def test_participant_list_is_for_staff_only_with_display_names_only(world: World):
    ptm, event, care, helper, sponsor, alice, bob, carl = await _setup(world)
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=201, json={"user_id": str(care.user_id), "role": "care_team"}
    )
    first = await world.register(alice, event["id"], sponsor_user_id=str(sponsor.user_id), answers={"diet": "vegan"})
    await world.register(bob, event["id"])
    await world.register(carl, event["id"])
    assigned = await world.client.put(
        f"/api/v1/events/{event['id']}/registrations/{first['id']}/care-team",
        json={"user_id": str(care.user_id)},
        headers=ptm.headers,
    )
    assert assigned.status_code == 200
    not_care = await world.client.put(
        f"/api/v1/events/{event['id']}/registrations/{first['id']}/care-team",
        json={"user_id": str(helper.user_id)},
        headers=ptm.headers,
    )
    assert not_care.status_code == 422

    # A participant sees the event but not the list (403); someone who cannot see the event gets 404.
    await world.get(f"/api/v1/events/{event['id']}/registrations", alice, expect=403)
    hidden = await world.published_event(ptm, visibility="invited")
    await world.get(f"/api/v1/events/{hidden['id']}/registrations", alice, expect=404)

    as_care = await world.get(f"/api/v1/events/{event['id']}/registrations", care)
    rows = {row["display_name"]: row for row in as_care["items"]}
    assert set(rows) == {"Alice", "Bob", "Carl"}
    assert rows["Alice"]["sponsor_display_name"] == "Sponsor Sven"
    assert rows["Alice"]["care_team_display_name"] == "Care Carl"
    assert rows["Carl"]["status"] == "waitlisted" and rows["Carl"]["waitlist_position"] == 1
    assert rows["Alice"]["answers"] is None  # answers are for managers
    assert set(rows["Alice"]) == {
        "id",
        "display_name",
        "status",
        "waitlist_position",
        "hold_expires_at",
        "checked_in_at",
        "sponsor_display_name",
        "care_team_display_name",
        "payment_overdue",
        "answers",
        "created_at",
    }  # no user ids, no contact details
    as_manager = await world.get(f"/api/v1/events/{event['id']}/registrations?status=confirmed&limit=1", ptm)
    assert [r["display_name"] for r in as_manager["items"]] == ["Alice"]
    assert as_manager["items"][0]["answers"] == {"diet": "vegan"}
    rest = await world.get(
        f"/api/v1/events/{event['id']}/registrations?status=confirmed&limit=1&cursor={as_manager['next_cursor']}", ptm
    )
    assert [r["display_name"] for r in rest["items"]] == ["Bob"] and rest["next_cursor"] is None
    staff = await world.get(f"/api/v1/events/{event['id']}/staff", ptm)
    assert staff[0]["assigned_registration_ids"] == [first["id"]]


async def test_a_sponsor_must_be_another_known_member(world: World):
    _ptm, event, *_, alice, _, _ = await _setup(world)
    response = await world.client.post(
        f"/api/v1/events/{event['id']}/registrations",
        headers=alice.headers,
        json={"sponsor_user_id": str(alice.user_id)},
    )
    assert response.status_code == 422
    response = await world.client.post(
        f"/api/v1/events/{event['id']}/registrations",
        headers=alice.headers,
        json={"sponsor_user_id": "6f1c6c1e-5a43-4a8c-9e34-000000000000"},
    )
    assert response.status_code == 422


async def test_staff_check_in_confirmed_participants(world: World):
    ptm, event, _care, helper, _, alice, bob, carl = await _setup(world)
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=201, json={"user_id": str(helper.user_id), "role": "support"}
    )
    confirmed = await world.register(alice, event["id"])
    await world.register(bob, event["id"])
    waiting = await world.register(carl, event["id"])
    path = f"/api/v1/events/{event['id']}/registrations/{confirmed['id']}/check-in"
    checked = await world.post(path, helper)
    assert checked["checked_in_at"] is not None and checked["display_name"] == "Alice"
    again = await world.post(path, helper)
    assert again["checked_in_at"] == checked["checked_in_at"]
    await world.post(f"/api/v1/events/{event['id']}/registrations/{waiting['id']}/check-in", helper, expect=409)
    await world.post(path, bob, expect=403)
    undone = await world.client.delete(path, headers=helper.headers)
    assert undone.status_code == 200 and undone.json()["checked_in_at"] is None


async def test_removing_a_care_team_member_clears_his_assignments(world: World):
    ptm, event, care, _, _, alice, _, _ = await _setup(world)
    await world.post(
        f"/api/v1/events/{event['id']}/staff", ptm, expect=201, json={"user_id": str(care.user_id), "role": "care_team"}
    )
    registration = await world.register(alice, event["id"])
    await world.client.put(
        f"/api/v1/events/{event['id']}/registrations/{registration['id']}/care-team",
        json={"user_id": str(care.user_id)},
        headers=ptm.headers,
    )
    path = f"/api/v1/events/{event['id']}/staff/{care.user_id}?role=care_team"
    assert (await world.client.delete(path, headers=alice.headers)).status_code == 403
    assert (await world.client.delete(path, headers=ptm.headers)).status_code == 204
    assert (await world.client.delete(path, headers=ptm.headers)).status_code == 404
    rows = (await world.get(f"/api/v1/events/{event['id']}/registrations", ptm))["items"]
    assert rows[0]["care_team_display_name"] is None
    # No longer staff: the list is closed to him again.
    await world.get(f"/api/v1/events/{event['id']}/registrations", care, expect=403)
