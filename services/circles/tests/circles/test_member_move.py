"""Staff move a member between circles directly: ptm, support, admin, or a facilitator of both
circles; one transaction under the target's capacity; payments learns through the membership
messages; audited; the member is told."""

from __future__ import annotations

import uuid

from .support import make_circle, make_facilitator, make_member, make_user, notifications, outbox


async def two_circles(api, **target):
    ben, tom = await make_facilitator(api, name="Ben"), await make_facilitator(api, name="Tom")
    source = await make_circle(api, ben, name="Source", dues={"amount": 2000, "currency": "EUR"})
    destination = await make_circle(api, tom, name="Target", dues={"amount": 3000, "currency": "EUR"}, **target)
    return ben, tom, source, destination


def move_path(circle: dict, member) -> str:
    return f"/api/v1/circles/{circle['id']}/members/{member.id}/move"


async def test_a_ptm_moves_a_member_in_one_transaction_audited_and_told(api):
    _ben, _tom, source, target = await two_circles(api)
    joe = await make_member(api, source, name="Joe")
    ptm = await make_user(api, "ptm")
    pending = await api.post(joe, f"/api/v1/circles/{source['id']}/transfer-requests", {"to_circle_id": target["id"]})
    assert pending.status_code == 201
    moved = await api.post(ptm, move_path(source, joe), {"to_circle_id": target["id"], "reason": "closer to home"})
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["from_circle_id"], body["to_circle_id"], body["payment_status"]) == (
        source["id"],
        target["id"],
        "pending",
    )

    history = await api.rows(
        "SELECT circle_id, status, end_reason, end_note FROM circles.memberships WHERE user_id = :id "
        "ORDER BY created_at",
        id=joe.id,
    )
    assert [(str(r["circle_id"]), r["status"], r["end_reason"], r["end_note"]) for r in history] == [
        (source["id"], "ended", "transferred", "closer to home"),
        (target["id"], "active", None, None),
    ]
    assert (await api.get(ptm, f"/api/v1/circles/{source['id']}")).json()["member_count"] == 0
    assert (await api.get(ptm, f"/api/v1/circles/{target['id']}")).json()["member_count"] == 1
    # Payments learns as from an approved transfer: the old dues end, the new ones start.
    ended = [e["payload"] for e in await outbox(api, "membership.ended")]
    assert [(e["reason"], e["circle_id"]) for e in ended] == [("transferred", source["id"])]
    required = [e["payload"] for e in await outbox(api, "membership.payment_required")]
    assert [(e["circle_id"], e["amount"]) for e in required] == [(source["id"], 2000), (target["id"], 3000)]
    [transferred] = [e["payload"] for e in await outbox(api, "membership.transferred")]
    assert transferred["to_membership_id"] == body["to_membership_id"] and transferred["transfer_request_id"] is None
    # His pending request out of the old circle is void now.
    request = await api.get(joe, f"/api/v1/transfer-requests/{pending.json()['id']}")
    assert (request.json()["status"], request.json()["decision_note"]) == ("cancelled", "moved by staff")

    [row] = await api.rows("SELECT * FROM circles.staff_actions WHERE subject_user_id = :id", id=joe.id)
    assert (row["action"], row["actor_user_id"], row["reason"]) == ("circle.membership.moved", ptm.id, "closer to home")
    assert row["details"]["to_membership_id"] == body["to_membership_id"]
    [notice] = [n for n in await notifications(api, "generic") if n["recipient_user_ids"] == [str(joe.id)]]
    assert notice["data"]["circle_id"] == target["id"]


async def test_who_may_move_members(api):
    ben, tom, source, target = await two_circles(api)
    joe = await make_member(api, source)
    body = {"to_circle_id": target["id"], "reason": "fits better"}
    # A facilitator of one of the circles only, leadership, a member: 403 on a circle they see.
    for refused in (ben, tom, await make_user(api, "leadership"), await make_member(api, source)):
        response = await api.post(refused, move_path(source, joe), body)
        assert response.status_code == 403, (refused.name, response.text)
    # A private circle the caller cannot see: 404.
    hidden = await make_circle(api, ben, visibility="private")
    stranger = await make_user(api)
    assert (await api.post(stranger, f"/api/v1/circles/{hidden['id']}/members/{joe.id}/move", body)).status_code == 404
    # A facilitator of both circles may.
    added = await api.post(
        tom, f"/api/v1/circles/{target['id']}/members", {"user_id": str(ben.id), "role": "facilitator"}
    )
    assert added.status_code == 201, added.text
    assert (await api.post(ben, move_path(source, joe), body)).status_code == 200
    # Support may too (moving him back).
    support = await make_user(api, "support")
    back = await api.post(support, move_path(target, joe), {"to_circle_id": source["id"], "reason": "changed his mind"})
    assert back.status_code == 200, back.text
    actions = await api.rows(
        "SELECT actor_user_id FROM circles.staff_actions WHERE subject_user_id = :id ORDER BY created_at", id=joe.id
    )
    assert [r["actor_user_id"] for r in actions] == [ben.id, support.id]


async def test_a_move_respects_capacity_and_needs_an_active_membership(api):
    _ben, _tom, source, target = await two_circles(api, capacity_max=2)
    joe = await make_member(api, source)
    admin = await make_user(api, "admin")
    await make_member(api, target)
    await make_member(api, target)
    full = await api.post(admin, move_path(source, joe), {"to_circle_id": target["id"], "reason": "x"})
    assert full.status_code == 409 and full.json()["type"].endswith("/circle-full")
    assert await api.scalar("SELECT status FROM circles.memberships WHERE user_id = :id", id=joe.id) == "active"
    assert (await api.get(admin, f"/api/v1/circles/{target['id']}")).json()["member_count"] == 2
    assert await api.rows("SELECT * FROM circles.staff_actions") == []

    other = await make_user(api)
    missing = await api.post(admin, move_path(source, other), {"to_circle_id": target["id"], "reason": "x"})
    assert missing.status_code == 404
    unknown = await api.post(admin, move_path(source, joe), {"to_circle_id": str(uuid.uuid4()), "reason": "x"})
    assert unknown.status_code == 404
    same = await api.post(admin, move_path(source, joe), {"to_circle_id": source["id"], "reason": "x"})
    assert same.status_code == 422
    no_reason = await api.post(admin, move_path(source, joe), {"to_circle_id": target["id"]})
    assert no_reason.status_code == 422
