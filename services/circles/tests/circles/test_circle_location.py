"""Where a circle meets: the address and the video-call link (https only) reach its active
members, facilitators and staff — through GET …/location, its meetings, the member's own
memberships and the meeting notices — and never the circle itself, the listing or anyone else."""

from __future__ import annotations

from .support import circle_body, make_circle, make_facilitator, make_member, make_user, notifications, outbox

ADDRESS = "Hinterhaus, Oranienstr. 12, 3rd floor"
VIDEO = "https://meet.example.org/circle-42"


async def test_only_members_facilitators_and_staff_learn_where_a_circle_meets(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben, location={"city": "Berlin", "online": False, "address": ADDRESS})
    assert circle["location"] == {"city": "Berlin", "online": False}
    joe = await make_member(api, circle)
    place = f"/api/v1/circles/{circle['id']}/location"
    for allowed in (joe, ben, await make_user(api, "support"), await make_user(api, "ptm")):
        response = await api.get(allowed, place)
        assert response.status_code == 200, response.text
        assert response.json() == {"city": "Berlin", "online": False, "address": ADDRESS, "video_url": None}

    # Someone who sees the (public) circle but is not in it: 403; the circle and listing never carry it.
    outsider = await make_user(api)
    assert (await api.get(outsider, place)).status_code == 403
    for path in (f"/api/v1/circles/{circle['id']}", "/api/v1/circles?limit=100"):
        for viewer in (outsider, joe, ben):
            response = await api.get(viewer, path)
            assert response.status_code == 200 and ADDRESS not in response.text
    # A pending applicant is not a member yet.
    gated = await make_circle(api, ben, join_policy="approval", location={"city": "Berlin", "address": ADDRESS})
    applicant = await make_user(api)
    assert (await api.post(applicant, f"/api/v1/circles/{gated['id']}/join")).json()["status"] == "pending"
    assert (await api.get(applicant, f"/api/v1/circles/{gated['id']}/location")).status_code == 403
    # A private circle: who cannot see it gets 404.
    private = await make_circle(api, ben, visibility="private", location={"city": "Berlin", "address": ADDRESS})
    assert (await api.get(outsider, f"/api/v1/circles/{private['id']}/location")).status_code == 404
    # A former member loses it.
    assert (await api.delete(joe, f"/api/v1/circles/{circle['id']}/members/{joe.id}")).status_code == 204
    assert (await api.get(joe, place)).status_code == 403


async def test_online_circles_take_an_https_video_link_only(api):
    ben = await make_facilitator(api)
    for bad in (
        "http://meet.example.org/x",
        "javascript:alert(1)",
        "https://user:pw@meet.example.org/x",
        "ftp://x.org",
    ):
        body = {"city": None, "online": True, "video_url": bad}
        response = await api.post(ben, "/api/v1/circles", {**circle_body(), "location": body})
        assert response.status_code == 422, bad
    offline = await api.post(
        ben, "/api/v1/circles", {**circle_body(), "location": {"city": "Berlin", "video_url": VIDEO}}
    )
    assert offline.status_code == 422
    circle = await make_circle(api, ben, location={"online": True, "video_url": VIDEO})
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}/location")).json()["video_url"] == VIDEO
    # PATCH takes the location whole: sending it without the link removes the link.
    patched = await api.patch(ben, f"/api/v1/circles/{circle['id']}", {"location": {"city": "Hamburg", "online": True}})
    assert patched.status_code == 200, patched.text
    assert (await api.get(ben, f"/api/v1/circles/{circle['id']}/location")).json() == {
        "city": "Hamburg",
        "online": True,
        "address": None,
        "video_url": None,
    }


async def test_meetings_memberships_and_notices_carry_the_place_to_members(api):
    ben = await make_facilitator(api)
    circle = await make_circle(
        api, ben, location={"city": "Berlin", "online": True, "address": ADDRESS, "video_url": VIDEO}
    )
    joe = await make_member(api, circle)
    base = f"/api/v1/circles/{circle['id']}/meetings"
    created = await api.post(ben, base, {"count": 2})
    assert created.status_code == 201, created.text
    # What happened is published for messaging, which tells the members (never auth directly).
    [scheduled] = [e["payload"] for e in await outbox(api, "meeting.scheduled")]
    assert scheduled["circle_id"] == circle["id"]
    assert (scheduled["address"], scheduled["video_url"]) == (ADDRESS, VIDEO)
    assert await notifications(api, "circle.meeting_scheduled") == []
    listed = (await api.get(joe, base)).json()["items"]
    assert {(m["place"]["address"], m["place"]["video_url"]) for m in listed} == {(ADDRESS, VIDEO)}
    mine = (await api.get(joe, "/api/v1/members/me/memberships")).json()
    assert [(m["circle_id"], m["location"]["address"]) for m in mine] == [(circle["id"], ADDRESS)]
    # A circle without an address sends notices without one.
    plain = await make_circle(api, ben)
    await make_member(api, plain)
    assert (await api.post(ben, f"/api/v1/circles/{plain['id']}/meetings", {"count": 1})).status_code == 201
    sent = [e["payload"] for e in await outbox(api, "meeting.scheduled") if e["payload"]["circle_id"] == plain["id"]]
    assert [("address" in p, "video_url" in p) for p in sent] == [(False, False)]
