"""Auth's `invitation.accepted` applied here: the invited person joins the circle whatever its
join policy (capacity still holds: full means pending, and he is told), or the event's staff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from .support import deliver, make_circle, make_facilitator, make_member, make_user, notifications, processed


def event_body() -> dict:
    starts = datetime.now(UTC) + timedelta(days=30)
    return {
        "type": "workshop",
        "title": "Anger and grief workshop",
        "description": "A day of work.",
        "starts_at": starts.isoformat(),
        "ends_at": (starts + timedelta(hours=6)).isoformat(),
        "timezone": "Europe/Berlin",
        "location": {"city": "Berlin", "online": False},
        "capacity": 10,
        "price": {"amount": 0, "currency": "EUR"},
        "visibility": "public",
    }


async def accepted(api, user_id, *, circle_id=None, event_id=None, invited_by=None, circle_role=None):
    payload = {
        "circle_role": circle_role,
        "invitation_id": str(uuid.uuid4()),
        "user_id": str(user_id),
        "circle_id": str(circle_id) if circle_id else None,
        "event_id": str(event_id) if event_id else None,
        "invited_by": str(invited_by) if invited_by else None,
    }
    event_id_ = await deliver(api, api.settings.auth_events_stream, "invitation.accepted", payload, producer="auth")
    await processed(api, event_id_)


async def memberships_of(api, user_id):
    return await api.rows(
        "SELECT circle_id, status, role, added_by FROM circles.memberships WHERE user_id = :id", id=user_id
    )


async def test_the_invited_person_becomes_an_active_member_of_an_approval_circle(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, join_policy="approval")
    joe = await make_user(api)
    await accepted(api, joe.id, circle_id=circle["id"], invited_by=ben.id)
    [row] = await memberships_of(api, joe.id)
    assert (str(row["circle_id"]), row["status"], row["role"], row["added_by"]) == (
        circle["id"],
        "active",
        "member",
        ben.id,
    )
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}")).json()["member_count"] == 1
    # Delivered again (at-least-once): nothing changes.
    await accepted(api, joe.id, circle_id=circle["id"], invited_by=ben.id)
    assert len(await memberships_of(api, joe.id)) == 1


async def test_a_full_circle_records_him_as_pending_and_tells_him(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=2)
    await make_member(api, circle)
    await make_member(api, circle)
    joe = await make_user(api)
    await accepted(api, joe.id, circle_id=circle["id"], invited_by=ben.id)
    [row] = await memberships_of(api, joe.id)
    assert row["status"] == "pending"
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}")).json()["member_count"] == 2
    told = [n for n in await notifications(api, "generic") if n["recipient_user_ids"] == [str(joe.id)]]
    assert len(told) == 1 and "full" in told[0]["data"]["subject"]


async def test_an_imported_facilitator_invitation_makes_him_a_facilitator_even_of_a_full_circle(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=2)
    await make_member(api, circle)
    await make_member(api, circle)
    joe = await make_user(api)
    await accepted(api, joe.id, circle_id=circle["id"], invited_by=ben.id, circle_role="facilitator")
    [row] = await memberships_of(api, joe.id)
    assert (row["status"], row["role"]) == ("active", "facilitator")
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}")).json()["member_count"] == 2


async def test_a_user_circles_has_not_heard_of_yet_gets_a_profile(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    newcomer = uuid.uuid4()
    await accepted(api, newcomer, circle_id=circle["id"], invited_by=ben.id)
    assert [r["status"] for r in await memberships_of(api, newcomer)] == ["active"]


async def test_an_unknown_circle_changes_nothing(api):
    joe = await make_user(api)
    await accepted(api, joe.id, circle_id=uuid.uuid4())
    assert await memberships_of(api, joe.id) == []


async def test_an_event_invitation_adds_him_to_the_event_staff_as_ptm(api):
    ptm = await make_user(api, "ptm")
    created = await api.post(ptm, "/api/v1/events", event_body())
    assert created.status_code == 201, created.text
    joe = await make_user(api)
    await accepted(api, joe.id, event_id=created.json()["id"], invited_by=ptm.id)
    await accepted(api, joe.id, event_id=created.json()["id"], invited_by=ptm.id)
    rows = await api.rows("SELECT role, added_by FROM circles.event_staff WHERE user_id = :id", id=joe.id)
    assert [(r["role"], r["added_by"]) for r in rows] == [("ptm", ptm.id)]
