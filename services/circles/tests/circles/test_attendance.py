"""Attendance: recorded by facilitators, private notes, own history, rates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from .support import make_circle, make_facilitator, make_member, make_user


async def past_meeting(api, facilitator, circle, days_ago: int) -> str:
    when = (datetime.now(UTC) - timedelta(days=days_ago)).replace(microsecond=0).isoformat()
    response = await api.post(facilitator, f"/api/v1/circles/{circle['id']}/meetings", {"starts_at": when})
    assert response.status_code == 201, response.text
    return response.json()["items"][0]["id"]


async def test_facilitator_records_attendance_with_private_notes(api):
    ben = await make_facilitator(api, name="Ben")
    circle = await make_circle(api, ben)
    joe, max_ = await make_member(api, circle, name="Joe"), await make_member(api, circle, name="Max")
    meeting = await past_meeting(api, ben, circle, 1)
    path = f"/api/v1/circles/{circle['id']}/meetings/{meeting}/attendance"
    sheet = {
        "records": [
            {"user_id": str(joe.id), "status": "present", "note": "Opened up about his father"},
            {"user_id": str(max_.id), "status": "late"},
        ]
    }
    assert (await api.put(joe, path, sheet)).status_code == 403
    recorded = await api.put(ben, path, sheet)
    assert recorded.status_code == 200, recorded.text
    assert [(r["display_name"], r["status"], r["note"]) for r in recorded.json()["records"]] == [
        ("Joe", "present", "Opened up about his father"),
        ("Max", "late", None),
    ]
    assert (await api.get(joe, path)).status_code == 403
    for staff_role in ("support", "leadership"):
        seen = await api.get(await make_user(api, staff_role), path)
        assert seen.status_code == 200 and seen.json()["records"][0]["note"] == "Opened up about his father"
    replaced = await api.put(ben, path, {"records": [{"user_id": str(joe.id), "status": "excused"}]})
    assert [(r["user_id"], r["status"]) for r in replaced.json()["records"]] == [(str(joe.id), "excused")]
    own = (await api.get(joe, f"/api/v1/circles/{circle['id']}/attendance/me")).json()
    assert own["items"] == [{"meeting_id": meeting, "starts_at": own["items"][0]["starts_at"], "status": "excused"}]
    assert "note" not in own["items"][0]


async def test_attendance_only_for_members_of_the_circle_and_started_meetings(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    stranger = await make_user(api)
    meeting = await past_meeting(api, ben, circle, 1)
    path = f"/api/v1/circles/{circle['id']}/meetings/{meeting}/attendance"
    bad = await api.put(ben, path, {"records": [{"user_id": str(stranger.id), "status": "present"}]})
    assert bad.status_code == 422 and bad.json()["errors"][0]["loc"] == ["body", "records", 0, "user_id"]
    dup = await api.put(ben, path, {"records": [{"user_id": str(joe.id), "status": "present"}] * 2})
    assert dup.status_code == 422
    assert (await api.put(ben, path, {"records": [{"user_id": str(joe.id), "status": "asleep"}]})).status_code == 422
    future = (await api.post(ben, f"/api/v1/circles/{circle['id']}/meetings", {"count": 1})).json()["items"][0]["id"]
    early = await api.put(
        ben,
        f"/api/v1/circles/{circle['id']}/meetings/{future}/attendance",
        {"records": [{"user_id": str(joe.id), "status": "present"}]},
    )
    assert early.status_code == 409
    assert await api.scalar("SELECT count(*) FROM circles.attendance") == 0


async def test_a_meeting_with_attendance_cannot_be_cancelled(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    meeting = await past_meeting(api, ben, circle, 2)
    base = f"/api/v1/circles/{circle['id']}/meetings/{meeting}"
    await api.put(ben, f"{base}/attendance", {"records": [{"user_id": str(joe.id), "status": "present"}]})
    assert (await api.post(ben, f"{base}/cancel")).status_code == 409


async def test_attendance_rates_per_member_and_circle(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe, max_ = await make_member(api, circle, name="Joe"), await make_member(api, circle, name="Max")
    plan = [("present", "absent"), ("late", "excused"), ("absent", "present"), ("present", "present")]
    for days_ago, (joe_status, max_status) in enumerate(plan, start=1):
        meeting = await past_meeting(api, ben, circle, days_ago * 7)
        await api.put(
            ben,
            f"/api/v1/circles/{circle['id']}/meetings/{meeting}/attendance",
            {
                "records": [
                    {"user_id": str(joe.id), "status": joe_status},
                    {"user_id": str(max_.id), "status": max_status},
                ]
            },
        )
    summary = await api.get(ben, f"/api/v1/circles/{circle['id']}/attendance")
    assert summary.status_code == 200
    body = summary.json()
    assert body["meetings_recorded"] == 4
    by_name = {m["display_name"]: m for m in body["members"]}
    assert by_name["Joe"]["rate"] == 0.75 and by_name["Joe"]["absent"] == 1
    assert by_name["Max"]["rate"] == round(2 / 3, 4) and by_name["Max"]["excused"] == 1
    assert body["rate"] == round(5 / 7, 4)
    assert (await api.get(joe, f"/api/v1/circles/{circle['id']}/attendance")).status_code == 403
    mine = (await api.get(joe, f"/api/v1/circles/{circle['id']}/attendance/me")).json()
    assert mine["rate"] == 0.75 and len(mine["items"]) == 4
