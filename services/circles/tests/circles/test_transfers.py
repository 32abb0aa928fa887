"""Transfer requests between circles."""

from __future__ import annotations

import asyncio
import uuid

from .support import make_circle, make_facilitator, make_member, make_user, notifications, outbox


async def two_circles(api, **target):
    ben, tom = await make_facilitator(api, name="Ben"), await make_facilitator(api, name="Tom")
    source = await make_circle(api, ben, name="Source", dues={"amount": 2000, "currency": "EUR"})
    destination = await make_circle(api, tom, name="Target", dues={"amount": 3000, "currency": "EUR"}, **target)
    return ben, tom, source, destination


async def test_approved_transfer_moves_the_membership_in_one_go(api):
    ben, tom, source, target = await two_circles(api)
    joe = await make_member(api, source, name="Joe")
    created = await api.post(
        joe,
        f"/api/v1/circles/{source['id']}/transfer-requests",
        {"to_circle_id": target["id"], "message": "Tuesdays no longer work for me"},
    )
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["status"] == "pending" and request["display_name"] == "Joe"
    assert [n["recipient_user_ids"] for n in await notifications(api, "circle.transfer_requested")] == [[str(tom.id)]]

    assert (await api.post(ben, f"/api/v1/transfer-requests/{request['id']}/approve")).status_code == 403
    assert (await api.post(joe, f"/api/v1/transfer-requests/{request['id']}/approve")).status_code == 403
    approved = await api.post(tom, f"/api/v1/transfer-requests/{request['id']}/approve", {"note": "Welcome"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["to_membership_id"]

    assert (await api.get(joe, f"/api/v1/circles/{source['id']}")).json()["member_count"] == 0
    assert (await api.get(joe, f"/api/v1/circles/{target['id']}")).json()["member_count"] == 1
    history = await api.rows(
        "SELECT circle_id, status, end_reason FROM circles.memberships WHERE user_id = :id ORDER BY created_at",
        id=joe.id,
    )
    assert [(str(r["circle_id"]), r["status"], r["end_reason"]) for r in history] == [
        (source["id"], "ended", "transferred"),
        (target["id"], "active", None),
    ]
    ended = [e["payload"] for e in await outbox(api, "membership.ended")]
    assert [(e["reason"], e["circle_id"]) for e in ended] == [("transferred", source["id"])]
    required = [e["payload"] for e in await outbox(api, "membership.payment_required")]
    assert [(e["circle_id"], e["amount"]) for e in required] == [(source["id"], 2000), (target["id"], 3000)]
    moved = (await outbox(api, "membership.transferred"))[0]["payload"]
    assert moved["from_circle_id"] == source["id"] and moved["to_circle_id"] == target["id"]
    assert moved["to_membership_id"] == approved.json()["to_membership_id"]
    # The decision is published as what happened; messaging tells him (no email asked of auth here).
    [decided] = [e["payload"] for e in await outbox(api, "transfer.decided")]
    assert (decided["user_id"], decided["decision"], decided["circle_id"]) == (str(joe.id), "approved", target["id"])
    assert await notifications(api, "circle.transfer_approved") == []
    assert (await api.post(tom, f"/api/v1/transfer-requests/{request['id']}/approve")).status_code == 409


async def test_declined_transfer_keeps_the_member_where_he_is(api):
    _ben, tom, source, target = await two_circles(api)
    joe = await make_member(api, source)
    request = (
        await api.post(joe, f"/api/v1/circles/{source['id']}/transfer-requests", {"to_circle_id": target["id"]})
    ).json()
    declined = await api.post(
        tom, f"/api/v1/transfer-requests/{request['id']}/decline", {"note": "We are full of plans"}
    )
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert (await api.get(joe, f"/api/v1/circles/{source['id']}")).json()["member_count"] == 1
    [decided] = [e["payload"] for e in await outbox(api, "transfer.decided")]
    assert (decided["user_id"], decided["decision"], decided["note"]) == (
        str(joe.id),
        "declined",
        "We are full of plans",
    )
    assert await notifications(api, "circle.transfer_declined") == []
    assert await outbox(api, "membership.ended") == []


async def test_transfer_into_a_full_circle_is_refused_at_approval(api):
    _ben, tom, source, target = await two_circles(api, capacity_max=2)
    joe = await make_member(api, source)
    request = (
        await api.post(joe, f"/api/v1/circles/{source['id']}/transfer-requests", {"to_circle_id": target["id"]})
    ).json()
    await make_member(api, target)
    await make_member(api, target)
    refused = await api.post(tom, f"/api/v1/transfer-requests/{request['id']}/approve")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/circle-full")
    assert (await api.get(joe, f"/api/v1/transfer-requests/{request['id']}")).json()["status"] == "pending"
    assert await api.scalar("SELECT status FROM circles.memberships WHERE user_id = :id", id=joe.id) == "active"


async def test_transfer_requests_are_validated(api):
    _ben, tom, source, target = await two_circles(api)
    joe = await make_member(api, source)
    outsider = await make_user(api)
    path = f"/api/v1/circles/{source['id']}/transfer-requests"
    assert (await api.post(outsider, path, {"to_circle_id": target["id"]})).status_code == 403
    assert (await api.post(joe, path, {"to_circle_id": source["id"]})).status_code == 422
    assert (await api.post(joe, path, {"to_circle_id": str(uuid.uuid4())})).status_code == 404
    hidden = await make_circle(api, tom, visibility="private")
    assert (await api.post(joe, path, {"to_circle_id": hidden["id"]})).status_code == 404
    assert (await api.post(joe, path, {"to_circle_id": target["id"]})).status_code == 201
    again = await api.post(joe, path, {"to_circle_id": target["id"]})
    assert again.status_code == 409


async def test_transfer_request_is_visible_only_to_those_involved(api):
    ben, tom, source, target = await two_circles(api)
    joe = await make_member(api, source)
    request = (
        await api.post(joe, f"/api/v1/circles/{source['id']}/transfer-requests", {"to_circle_id": target["id"]})
    ).json()
    path = f"/api/v1/transfer-requests/{request['id']}"
    for viewer in (joe, ben, tom, await make_user(api, "support")):
        assert (await api.get(viewer, path)).status_code == 200
    stranger = await make_user(api)
    assert (await api.get(stranger, path)).status_code == 404
    assert (await api.post(stranger, f"{path}/approve")).status_code == 404
    incoming = (await api.get(tom, f"/api/v1/circles/{target['id']}/transfer-requests")).json()["items"]
    assert [item["id"] for item in incoming] == [request["id"]]
    outgoing = (await api.get(ben, f"/api/v1/circles/{source['id']}/transfer-requests?direction=outgoing")).json()[
        "items"
    ]
    assert [item["id"] for item in outgoing] == [request["id"]]
    assert (await api.get(joe, f"/api/v1/circles/{source['id']}/transfer-requests")).status_code == 403
    cancelled = await api.post(joe, f"{path}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


async def test_crossing_transfers_approved_at_once_do_not_deadlock(api):
    ben, tom = await make_facilitator(api), await make_facilitator(api)
    one, two = await make_circle(api, ben), await make_circle(api, tom)
    joe, max_ = await make_member(api, one), await make_member(api, two)
    admin = await make_user(api, "admin")
    a = (await api.post(joe, f"/api/v1/circles/{one['id']}/transfer-requests", {"to_circle_id": two["id"]})).json()
    b = (await api.post(max_, f"/api/v1/circles/{two['id']}/transfer-requests", {"to_circle_id": one["id"]})).json()
    results = await asyncio.wait_for(
        asyncio.gather(
            api.post(admin, f"/api/v1/transfer-requests/{a['id']}/approve"),
            api.post(admin, f"/api/v1/transfer-requests/{b['id']}/approve"),
        ),
        timeout=20,
    )
    assert [r.status_code for r in results] == [200, 200]
    assert (await api.get(admin, f"/api/v1/circles/{one['id']}")).json()["member_count"] == 1
    assert (await api.get(admin, f"/api/v1/circles/{two['id']}")).json()["member_count"] == 1
