"""Joining, approval, adding, leaving, removal, roles, member lists and capacity under concurrency."""

from __future__ import annotations

import asyncio
import uuid

from .support import make_circle, make_facilitator, make_member, make_user, notifications, outbox


async def test_join_open_circle_makes_an_active_member(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_user(api, name="Joe")
    response = await api.post(joe, f"/api/v1/circles/{circle['id']}/join")
    assert response.status_code == 201
    body = response.json()
    assert (body["status"], body["role"], body["display_name"], body["payment_status"]) == (
        "active",
        "member",
        "Joe",
        "not_required",
    )
    assert body["joined_at"] is not None
    assert (await api.get(joe, f"/api/v1/circles/{circle['id']}")).json()["member_count"] == 1
    assert await outbox(api, "membership.payment_required") == []


async def test_join_is_refused_when_already_a_member(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    again = await api.post(joe, f"/api/v1/circles/{circle['id']}/join")
    assert again.status_code == 409 and again.json()["type"].endswith("/already-member")


async def test_join_is_refused_when_circle_is_full(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=2)
    await make_member(api, circle)
    await make_member(api, circle)
    late = await make_user(api)
    response = await api.post(late, f"/api/v1/circles/{circle['id']}/join")
    assert response.status_code == 409 and response.json()["type"].endswith("/circle-full")
    assert await api.scalar("SELECT count(*) FROM circles.memberships WHERE user_id = :id", id=late.id) == 0


async def test_facilitators_do_not_take_seats(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=2)
    co = await make_user(api)
    added = await api.post(
        ben, f"/api/v1/circles/{circle['id']}/members", {"user_id": str(co.id), "role": "facilitator"}
    )
    assert added.status_code == 201 and added.json()["role"] == "facilitator"
    body = (await api.get(ben, f"/api/v1/circles/{circle['id']}")).json()
    assert body["member_count"] == 0 and len(body["facilitators"]) == 2


async def test_fifty_concurrent_joins_for_the_last_seat_admit_exactly_one(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, capacity_max=10)
    for _ in range(9):
        await make_member(api, circle)
    users = [await make_user(api) for _ in range(50)]
    responses = await asyncio.gather(*(api.post(user, f"/api/v1/circles/{circle['id']}/join") for user in users))
    statuses = sorted(response.status_code for response in responses)
    assert statuses.count(201) == 1 and statuses.count(409) == 49, [
        r.text for r in responses if r.status_code not in (201, 409)
    ][:3]
    assert all(r.json()["type"].endswith("/circle-full") for r in responses if r.status_code == 409)
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}")).json()["member_count"] == 10
    active = await api.scalar(
        "SELECT count(*) FROM circles.memberships WHERE circle_id = :id AND status = 'active' AND role = 'member'",
        id=uuid.UUID(circle["id"]),
    )
    assert active == 10


async def test_same_user_joining_five_times_at_once_gets_one_membership(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_user(api)
    responses = await asyncio.gather(*(api.post(joe, f"/api/v1/circles/{circle['id']}/join") for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [201, 409, 409, 409, 409]
    assert await api.scalar("SELECT count(*) FROM circles.memberships WHERE user_id = :id", id=joe.id) == 1
    assert (await api.get(joe, f"/api/v1/circles/{circle['id']}")).json()["member_count"] == 1


async def test_approval_circle_makes_pending_requests_that_facilitators_decide(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, join_policy="approval", dues={"amount": 3000, "currency": "EUR"})
    base = f"/api/v1/circles/{circle['id']}"
    joe, max_ = await make_user(api), await make_user(api)
    pending = await api.post(joe, f"{base}/join")
    assert pending.status_code == 201 and pending.json()["status"] == "pending"
    await api.post(max_, f"{base}/join")
    assert (await api.get(ben, base)).json()["member_count"] == 0
    assert len(await notifications(api, "circle.join_requested")) == 2
    assert await outbox(api, "membership.payment_required") == []

    listed = await api.get(ben, f"{base}/members?status=pending")
    assert {m["user_id"] for m in listed.json()["items"]} == {str(joe.id), str(max_.id)}
    assert (await api.post(joe, f"{base}/members/{max_.id}/approve")).status_code == 403

    approved = await api.post(ben, f"{base}/members/{joe.id}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "active"
    assert approved.json()["payment_status"] == "pending"
    declined = await api.post(ben, f"{base}/members/{max_.id}/decline", {"reason": "Not a fit right now"})
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert (await api.post(ben, f"{base}/members/{max_.id}/approve")).status_code == 404
    assert (await api.post(ben, f"{base}/members/{joe.id}/approve")).status_code == 409

    required = [e["payload"] for e in await outbox(api, "membership.payment_required")]
    assert required == [
        {
            "membership_id": approved.json()["id"],
            "circle_id": circle["id"],
            "circle_name": circle["name"],
            "user_id": str(joe.id),
            "amount": 3000,
            "currency": "EUR",
            "interval": "month",
        }
    ]
    assert [n["recipient_user_ids"] for n in await notifications(api, "circle.join_approved")] == [[str(joe.id)]]
    assert [n["recipient_user_ids"] for n in await notifications(api, "circle.join_declined")] == [[str(max_.id)]]
    assert (await api.post(max_, f"{base}/join")).json()["status"] == "pending"  # may ask again later


async def test_approval_is_refused_when_the_circle_filled_up(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, join_policy="approval", capacity_max=2)
    base = f"/api/v1/circles/{circle['id']}"
    users = [await make_user(api) for _ in range(3)]
    for user in users:
        await api.post(user, f"{base}/join")
    for user in users[:2]:
        assert (await api.post(ben, f"{base}/members/{user.id}/approve")).status_code == 200
    assert (await api.post(ben, f"{base}/members/{users[2].id}/approve")).status_code == 409


async def test_facilitator_adds_members_and_unknown_users_are_404(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, dues={"amount": 1500, "currency": "GBP"})
    base = f"/api/v1/circles/{circle['id']}"
    joe = await make_user(api)
    added = await api.post(ben, f"{base}/members", {"user_id": str(joe.id)})
    assert added.status_code == 201 and added.json()["status"] == "active"
    assert (await api.post(ben, f"{base}/members", {"user_id": str(joe.id)})).status_code == 409
    assert (await api.post(ben, f"{base}/members", {"user_id": str(uuid.uuid4())})).status_code == 404
    assert (await api.post(joe, f"{base}/members", {"user_id": str((await make_user(api)).id)})).status_code == 403
    assert (await api.post(ben, f"{base}/members", {"user_id": str(joe.id), "role": "owner"})).status_code == 422
    events = await outbox(api, "membership.payment_required")
    assert [e["payload"]["user_id"] for e in events] == [str(joe.id)]
    assert events[0]["stream"] == "events:circles"


async def test_member_leaves_and_history_is_kept(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, dues={"amount": 2000, "currency": "EUR"})
    base = f"/api/v1/circles/{circle['id']}"
    joe = await make_member(api, circle)
    assert (await api.delete(joe, f"{base}/members/{joe.id}")).status_code == 204
    assert (await api.get(ben, base)).json()["member_count"] == 0
    row = (
        await api.rows("SELECT status, end_reason, ended_at FROM circles.memberships WHERE user_id = :id", id=joe.id)
    )[0]
    assert row["status"] == "ended" and row["end_reason"] == "left" and row["ended_at"] is not None
    ended = (await outbox(api, "membership.ended"))[0]["payload"]
    assert ended["user_id"] == str(joe.id) and ended["reason"] == "left" and ended["circle_id"] == circle["id"]
    assert (await api.delete(joe, f"{base}/members/{joe.id}")).status_code == 404
    rejoined = await api.post(joe, f"{base}/join")
    assert rejoined.status_code == 201
    mine = (await api.get(joe, "/api/v1/members/me/memberships?include_ended=true")).json()
    assert sorted(m["status"] for m in mine) == ["active", "ended"]


async def test_removal_needs_a_facilitator_and_a_reason(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    base = f"/api/v1/circles/{circle['id']}"
    joe, max_ = await make_member(api, circle), await make_member(api, circle)
    assert (await api.delete(max_, f"{base}/members/{joe.id}", {"reason": "I dislike him"})).status_code == 403
    assert (await api.delete(ben, f"{base}/members/{joe.id}")).status_code == 422
    assert (
        await api.delete(ben, f"{base}/members/{joe.id}", {"reason": "Repeatedly broke confidentiality"})
    ).status_code == 204
    row = (
        await api.rows(
            "SELECT end_reason, end_note, decided_by FROM circles.memberships WHERE user_id = :id", id=joe.id
        )
    )[0]
    assert (row["end_reason"], row["end_note"], row["decided_by"]) == (
        "removed",
        "Repeatedly broke confidentiality",
        ben.id,
    )
    assert [n["recipient_user_ids"] for n in await notifications(api, "circle.member_removed")] == [[str(joe.id)]]
    admin = await make_user(api, "admin")
    assert (await api.delete(admin, f"{base}/members/{max_.id}", {"reason": "Moved away"})).status_code == 204


async def test_last_facilitator_cannot_leave_but_a_co_facilitator_can(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    base = f"/api/v1/circles/{circle['id']}"
    assert (await api.delete(ben, f"{base}/members/{ben.id}")).status_code == 409
    joe = await make_member(api, circle)
    promoted = await api.put(ben, f"{base}/members/{joe.id}/role", {"role": "facilitator"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "facilitator"
    assert (await api.get(ben, base)).json()["member_count"] == 0
    assert (await api.delete(ben, f"{base}/members/{ben.id}")).status_code == 204
    assert [f["user_id"] for f in (await api.get(joe, base)).json()["facilitators"]] == [str(joe.id)]
    assert (await api.put(joe, f"{base}/members/{joe.id}/role", {"role": "member"})).status_code == 409


async def test_member_list_shows_names_only_and_payment_status_only_to_those_allowed(api):
    ben = await make_facilitator(api, name="Ben")
    circle = await make_circle(api, ben, dues={"amount": 2000, "currency": "EUR"})
    base = f"/api/v1/circles/{circle['id']}"
    joe = await make_member(api, circle, name="Joe")
    max_ = await make_member(api, circle, name="Max")
    peer_view = (await api.get(joe, f"{base}/members")).json()["items"]
    assert {m["display_name"] for m in peer_view} == {"Ben", "Joe", "Max"}
    for member in peer_view:
        assert set(member) == {
            "id",
            "circle_id",
            "user_id",
            "display_name",
            "role",
            "status",
            "payment_status",
            "flagged",
            "joined_at",
            "ended_at",
            "end_reason",
        }
        if member["user_id"] == str(max_.id):
            assert member["payment_status"] is None and member["flagged"] is None
        if member["user_id"] == str(joe.id):
            assert member["payment_status"] == "pending"
    facilitator_view = (await api.get(ben, f"{base}/members")).json()["items"]
    assert all(m["payment_status"] is not None for m in facilitator_view)
    assert (await api.get(joe, f"{base}/members?status=pending")).status_code == 403
    outsider = await make_user(api)
    assert (await api.get(outsider, f"{base}/members")).status_code == 403
    support = await make_user(api, "support")
    assert (await api.get(support, f"{base}/members")).status_code == 200
    page = (await api.get(ben, f"{base}/members?limit=2")).json()
    rest = (await api.get(ben, f"{base}/members?limit=2&cursor={page['next_cursor']}")).json()
    assert len(page["items"]) == 2 and len(rest["items"]) == 1 and rest["next_cursor"] is None


async def test_pending_request_can_be_withdrawn(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, join_policy="approval")
    base = f"/api/v1/circles/{circle['id']}"
    joe = await make_user(api)
    await api.post(joe, f"{base}/join")
    assert (await api.delete(joe, f"{base}/members/{joe.id}")).status_code == 204
    assert await api.scalar("SELECT end_reason FROM circles.memberships WHERE user_id = :id", id=joe.id) == "withdrawn"
    assert await outbox(api, "membership.ended") == []


async def test_concurrent_approvals_for_the_last_seat_admit_one(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, join_policy="approval", capacity_max=3)
    base = f"/api/v1/circles/{circle['id']}"
    users = [await make_user(api) for _ in range(7)]
    for user in users:
        await api.post(user, f"{base}/join")
    for user in users[:2]:
        await api.post(ben, f"{base}/members/{user.id}/approve")
    responses = await asyncio.gather(*(api.post(ben, f"{base}/members/{user.id}/approve") for user in users[2:]))
    assert sorted(r.status_code for r in responses) == [200, 409, 409, 409, 409]
    assert (await api.get(ben, base)).json()["member_count"] == 3


async def test_every_membership_that_becomes_active_is_announced_for_messaging(api):
    """`membership.started` (messaging's read model of who may use a circle's thread): the founding
    facilitator, a join, an approval (not the request), an addition and both sides of a role change."""
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, join_policy="approval")
    base = f"/api/v1/circles/{circle['id']}"

    async def started() -> list[tuple[str, str]]:
        payloads = [event["payload"] for event in await outbox(api, "membership.started")]
        assert all(p["circle_id"] == circle["id"] and p["membership_id"] and p["started_at"] for p in payloads)
        return [(p["user_id"], p["role"]) for p in payloads]

    assert await started() == [(str(ben.id), "facilitator")]
    joe = await make_user(api)
    assert (await api.post(joe, f"{base}/join")).status_code == 201
    assert await started() == [(str(ben.id), "facilitator")]  # pending: not a member yet
    assert (await api.post(ben, f"{base}/members/{joe.id}/approve")).status_code == 200
    max_ = await make_user(api)
    assert (await api.post(ben, f"{base}/members", {"user_id": str(max_.id)})).status_code == 201
    assert (await api.put(ben, f"{base}/members/{max_.id}/role", {"role": "facilitator"})).status_code == 200
    assert await started() == [
        (str(ben.id), "facilitator"),
        (str(joe.id), "member"),
        (str(max_.id), "member"),
        (str(max_.id), "facilitator"),
    ]
    ended = [event["payload"] for event in await outbox(api, "membership.ended")]
    assert [(e["user_id"], e["reason"]) for e in ended] == [(str(max_.id), "role_changed")]
