"""Circles: create, read, update, archive, validation and visibility."""

from __future__ import annotations

import uuid

from .support import circle_body, make_circle, make_facilitator, make_member, make_user, outbox


async def test_facilitator_creates_circle_and_becomes_its_facilitator(api):
    ben = await make_facilitator(api, name="Ben")
    response = await api.post(ben, "/api/v1/circles", circle_body(name="Tuesday Men", capacity_max=8, capacity_min=3))
    assert response.status_code == 201, response.text
    circle = response.json()
    assert circle["name"] == "Tuesday Men"
    assert circle["status"] == "forming"
    assert circle["member_count"] == 0 and circle["open_seats"] == 8
    assert circle["facilitators"] == [{"user_id": str(ben.id), "display_name": "Ben"}]
    assert circle["schedule"] == {
        "weekday": "tuesday",
        "time": "19:00:00",
        "timezone": "Europe/Berlin",
        "frequency": "weekly",
    }
    roles = await api.rows(
        "SELECT role, status FROM circles.memberships WHERE circle_id = :id", id=uuid.UUID(circle["id"])
    )
    assert [dict(r) for r in roles] == [{"role": "facilitator", "status": "active"}]


async def test_plain_member_cannot_create_a_circle(api):
    member = await make_user(api)
    response = await api.post(member, "/api/v1/circles", circle_body())
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("application/problem+json")
    assert await api.scalar("SELECT count(*) FROM circles.circles") == 0


async def test_admin_can_create_a_circle(api):
    admin = await make_user(api, "member", "admin")
    assert (await api.post(admin, "/api/v1/circles", circle_body())).status_code == 201


async def test_creating_without_a_token_is_401(api):
    response = await api.client.post("/api/v1/circles", json=circle_body())
    assert response.status_code == 401


async def test_first_use_creates_a_minimal_profile_when_auth_event_has_not_arrived(api):
    newcomer = await make_user(api, "member", "facilitator", profile=False)
    circle = await make_circle(api, newcomer)
    assert circle["facilitators"][0]["user_id"] == str(newcomer.id)
    assert await api.scalar("SELECT display_name FROM circles.profiles WHERE user_id = :id", id=newcomer.id) == "Member"
    me = await api.get(newcomer, "/api/v1/members/me")
    assert me.status_code == 200 and me.json()["user_id"] == str(newcomer.id)


async def test_invalid_circle_input_is_422_and_changes_nothing(api):
    ben = await make_facilitator(api)
    bad_bodies = [
        circle_body(capacity_max=11),
        circle_body(capacity_max=1),
        circle_body(capacity_min=1),
        circle_body(capacity_max=4, capacity_min=5),
        circle_body(
            schedule={"weekday": "tuesday", "time": "19:00", "timezone": "Mars/Olympus", "frequency": "weekly"}
        ),
        circle_body(
            schedule={"weekday": "tuesday", "time": "19:00", "timezone": "../../etc/passwd", "frequency": "weekly"}
        ),
        circle_body(schedule={"weekday": "someday", "time": "19:00", "timezone": "UTC", "frequency": "weekly"}),
        circle_body(schedule={"weekday": "monday", "time": "19:00", "timezone": "UTC", "frequency": "daily"}),
        circle_body(dues={"amount": 0, "currency": "EUR"}),
        circle_body(dues={"amount": 5000, "currency": "eur"}),
        circle_body(dues={"amount": 10**9, "currency": "EUR"}),
        circle_body(visibility="secret"),
        circle_body(join_policy="invite"),
        circle_body(location={"online": False}),
        circle_body(name=""),
        circle_body(member_count=3),
        circle_body(status="active"),
    ]
    for body in bad_bodies:
        response = await api.post(ben, "/api/v1/circles", body)
        assert response.status_code == 422, (body, response.text)
        assert response.json()["errors"]
    assert await api.scalar("SELECT count(*) FROM circles.circles") == 0


async def test_defaults_and_dues_are_stored(api):
    ben = await make_facilitator(api)
    body = circle_body(dues={"amount": 2500, "currency": "EUR"}, location={"online": True})
    del body["capacity_max"], body["capacity_min"]
    circle = await make_circle(api, ben, **{k: v for k, v in body.items()})
    assert circle["capacity_max"] == 10 and circle["capacity_min"] == 2
    assert circle["dues"] == {"amount": 2500, "currency": "EUR"}
    assert circle["location"] == {"city": None, "online": True}


async def test_patch_changes_only_sent_fields(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, description="Original", dues={"amount": 1000, "currency": "EUR"})
    response = await api.patch(ben, f"/api/v1/circles/{circle['id']}", {"name": "Renamed", "capacity_min": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["name"] == "Renamed" and body["capacity_min"] == 3
    assert body["description"] == "Original" and body["dues"] == {"amount": 1000, "currency": "EUR"}
    removed = await api.patch(ben, f"/api/v1/circles/{circle['id']}", {"dues": None})
    assert removed.json()["dues"] is None


async def test_patch_rejects_nulls_and_capacity_rules(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=5, capacity_min=2)
    path = f"/api/v1/circles/{circle['id']}"
    assert (await api.patch(ben, path, {"name": None})).status_code == 422
    assert (await api.patch(ben, path, {"capacity_min": 6})).status_code == 422
    for _ in range(4):
        await make_member(api, circle)
    below = await api.patch(ben, path, {"capacity_max": 3})
    assert below.status_code == 409
    assert (await api.get(ben, path)).json()["capacity_max"] == 5


async def test_only_the_circles_facilitator_or_admin_may_update(api):
    ben = await make_facilitator(api)
    other_facilitator = await make_facilitator(api)
    circle = await make_circle(api, ben)
    member = await make_member(api, circle)
    path = f"/api/v1/circles/{circle['id']}"
    assert (await api.patch(member, path, {"name": "Mine"})).status_code == 403
    assert (await api.patch(other_facilitator, path, {"name": "Mine"})).status_code == 403
    admin = await make_user(api, "admin")
    assert (await api.patch(admin, path, {"name": "Admin's"})).status_code == 200


async def test_archiving_ends_memberships_and_keeps_history(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, dues={"amount": 2000, "currency": "EUR"})
    member = await make_member(api, circle)
    path = f"/api/v1/circles/{circle['id']}"
    assert (await api.delete(member, path)).status_code == 403
    assert (await api.delete(ben, path)).status_code == 204
    archived = (await api.get(ben, path)).json()
    assert archived["status"] == "archived" and archived["member_count"] == 0 and archived["open_seats"] == 0
    history = await api.rows(
        "SELECT user_id, status, end_reason FROM circles.memberships WHERE circle_id = :id", id=uuid.UUID(circle["id"])
    )
    assert {(r["status"], r["end_reason"]) for r in history} == {("ended", "circle_archived")}
    ended = [e["payload"] for e in await outbox(api, "membership.ended")]
    assert {e["user_id"] for e in ended} == {str(ben.id), str(member.id)}
    assert (await api.post(await make_user(api), f"{path}/join")).status_code == 409
    admin = await make_user(api, "admin")
    assert (await api.patch(admin, path, {"name": "Again"})).status_code == 409
    assert (await api.delete(admin, path)).status_code == 204  # idempotent
    assert len(await outbox(api, "membership.ended")) == 2


async def test_private_circle_is_404_for_outsiders_and_visible_to_members_and_staff(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, visibility="private")
    path = f"/api/v1/circles/{circle['id']}"
    outsider = await make_user(api)
    assert (await api.get(outsider, path)).status_code == 404
    assert (await api.post(outsider, f"{path}/join")).status_code == 404
    assert (await api.get(outsider, f"{path}/members")).status_code == 404
    assert (await api.get(ben, path)).status_code == 200
    for role in ("ptm", "support", "leadership", "admin"):
        staff = await make_user(api, "member", role)
        assert (await api.get(staff, path)).status_code == 200, role
    added = await make_user(api)
    assert (await api.post(ben, f"{path}/members", {"user_id": str(added.id)})).status_code == 201
    assert (await api.get(added, path)).status_code == 200


async def test_unknown_circle_is_404_and_bad_id_is_422(api):
    user = await make_user(api)
    assert (await api.get(user, f"/api/v1/circles/{uuid.uuid4()}")).status_code == 404
    assert (await api.get(user, "/api/v1/circles/not-a-uuid")).status_code == 422


async def test_service_tokens_cannot_act_as_users(api):
    token = api.issuer.token("svc:payments", roles=["admin"])
    response = await api.client.post(
        "/api/v1/circles", json=circle_body(), headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 403
    assert await api.scalar("SELECT count(*) FROM circles.profiles") == 0
