"""Meetings: generation from the schedule across time zones and DST, one-offs, cancel, reschedule."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from mcm_circles.meetings.schedule import occurrences

from .support import make_circle, make_facilitator, make_member, make_user, notifications, outbox


def test_weekly_occurrences_keep_local_time_across_dst_in_berlin():
    after = datetime(2030, 3, 20, 12, 0, tzinfo=UTC)  # Europe/Berlin springs forward on 31 March 2030
    found = occurrences(
        weekday="tuesday", at=time(19, 0), timezone="Europe/Berlin", frequency="weekly", after=after, count=3
    )
    assert found == [
        datetime(2030, 3, 26, 18, 0, tzinfo=UTC),  # 19:00 CET (+01:00)
        datetime(2030, 4, 2, 17, 0, tzinfo=UTC),  # 19:00 CEST (+02:00)
        datetime(2030, 4, 9, 17, 0, tzinfo=UTC),
    ]


def test_occurrences_in_the_southern_hemisphere_and_across_the_date_line():
    after = datetime(2030, 3, 31, 12, 0, tzinfo=UTC)  # Sunday night in Sydney, which leaves DST on 7 April 2030
    found = occurrences(
        weekday="monday", at=time(7, 30), timezone="Australia/Sydney", frequency="weekly", after=after, count=2
    )
    local = [instant.astimezone(ZoneInfo("Australia/Sydney")) for instant in found]
    assert [(d.date().isoformat(), d.strftime("%H:%M"), d.utcoffset()) for d in local] == [
        ("2030-04-01", "07:30", timedelta(hours=11)),
        ("2030-04-08", "07:30", timedelta(hours=10)),
    ]
    assert found[0] == datetime(2030, 3, 31, 20, 30, tzinfo=UTC)  # still Sunday in UTC


def test_a_time_skipped_by_dst_moves_forward_by_the_gap():
    after = datetime(2030, 3, 30, 0, 0, tzinfo=UTC)
    found = occurrences(
        weekday="sunday", at=time(2, 30), timezone="Europe/Berlin", frequency="weekly", after=after, count=1
    )
    assert found[0].astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M") == "03:30"


def test_biweekly_keeps_the_parity_of_the_last_meeting_and_monthly_takes_the_first_weekday():
    anchor = datetime(2030, 1, 7, 18, 0, tzinfo=UTC)  # a Monday
    found = occurrences(
        weekday="monday",
        at=time(19, 0),
        timezone="Europe/Berlin",
        frequency="biweekly",
        after=anchor,
        count=3,
        anchor=anchor,
    )
    assert [d.date().isoformat() for d in found] == ["2030-01-21", "2030-02-04", "2030-02-18"]
    monthly = occurrences(
        weekday="friday",
        at=time(18, 0),
        timezone="America/New_York",
        frequency="monthly",
        after=datetime(2030, 1, 5, tzinfo=UTC),
        count=3,
    )
    assert [d.astimezone(ZoneInfo("America/New_York")).date().isoformat() for d in monthly] == [
        "2030-02-01",
        "2030-03-01",
        "2030-04-05",
    ]


async def test_generating_meetings_follows_the_schedule_and_tells_members(api):
    ben = await make_facilitator(api)
    circle = await make_circle(
        api, ben, schedule={"weekday": "wednesday", "time": "19:30", "timezone": "Europe/Berlin", "frequency": "weekly"}
    )
    joe = await make_member(api, circle)
    base = f"/api/v1/circles/{circle['id']}/meetings"
    created = await api.post(ben, base, {"count": 26, "duration_minutes": 150})
    assert created.status_code == 201, created.text
    items = created.json()["items"]
    assert len(items) == 26
    locals_ = [datetime.fromisoformat(item["local_starts_at"]) for item in items]
    assert all(d.strftime("%A %H:%M") == "Wednesday 19:30" for d in locals_)
    assert {d.utcoffset() for d in locals_} == {timedelta(hours=1), timedelta(hours=2)}  # half a year crosses DST
    assert all(datetime.fromisoformat(item["starts_at"]) > datetime.now(UTC) for item in items)
    assert datetime.fromisoformat(items[0]["ends_at"]) - datetime.fromisoformat(items[0]["starts_at"]) == timedelta(
        minutes=150
    )
    more = (await api.post(ben, base, {"count": 2})).json()["items"]
    assert datetime.fromisoformat(more[0]["starts_at"]) - datetime.fromisoformat(items[-1]["starts_at"]) in (
        timedelta(days=7),
        timedelta(days=7, hours=1),
        timedelta(days=7, hours=-1),
    )
    # What happened is published (messaging tells the members and reminds them); auth is not asked.
    sent = [e["payload"] for e in await outbox(api, "meeting.scheduled")]
    assert len(sent) == 2 and len(sent[0]["meetings"]) == 26 and sent[0]["timezone"] == "Europe/Berlin"
    assert sent[0]["actor_id"] == str(ben.id) and sent[0]["circle_id"] == circle["id"]
    assert await notifications(api, "circle.meeting_scheduled") == []
    listed = (await api.get(joe, f"{base}?limit=100")).json()["items"]
    assert len(listed) == 28


async def test_one_meeting_at_a_given_time_and_clashes_are_409(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    base = f"/api/v1/circles/{circle['id']}/meetings"
    when = "2031-05-06T17:00:00Z"
    assert (await api.post(ben, base, {"starts_at": when})).status_code == 201
    assert (await api.post(ben, base, {"starts_at": "2031-05-06T19:00:00+02:00"})).status_code == 409
    assert (await api.post(ben, base, {"starts_at": "2031-05-06T17:00:00"})).status_code == 422  # no offset
    assert (await api.post(ben, base, {"starts_at": when, "count": 2})).status_code == 422
    assert (await api.post(ben, base, {})).status_code == 422
    assert (await api.post(ben, base, {"count": 27})).status_code == 422


async def test_only_facilitators_schedule_and_only_members_and_staff_see_meetings(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    base = f"/api/v1/circles/{circle['id']}/meetings"
    joe = await make_member(api, circle)
    assert (await api.post(joe, base, {"count": 1})).status_code == 403
    outsider = await make_user(api)
    assert (await api.get(outsider, base)).status_code == 403
    assert (await api.get(await make_user(api, "ptm"), base)).status_code == 200
    private = await make_circle(api, ben, visibility="private")
    assert (await api.get(outsider, f"/api/v1/circles/{private['id']}/meetings")).status_code == 404


async def test_cancel_and_reschedule_tell_the_members(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    joe = await make_member(api, circle)
    base = f"/api/v1/circles/{circle['id']}/meetings"
    first, second = (await api.post(ben, base, {"count": 2})).json()["items"]
    moved = await api.patch(ben, f"{base}/{first['id']}", {"starts_at": "2031-01-01T18:00:00Z"})
    assert moved.status_code == 200 and moved.json()["starts_at"].startswith("2031-01-01T18:00:00")
    assert (await api.patch(ben, f"{base}/{second['id']}", {"starts_at": "2031-01-01T18:00:00Z"})).status_code == 409
    cancelled = await api.post(ben, f"{base}/{second['id']}/cancel", {"reason": "Holiday"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (await api.post(ben, f"{base}/{second['id']}/cancel")).status_code == 409
    assert (await api.patch(ben, f"{base}/{second['id']}", {"note": "x"})).status_code == 409
    [moved_note] = [e["payload"] for e in await outbox(api, "meeting.rescheduled")]
    assert moved_note["meetings"][0]["meeting_id"] == first["id"]
    assert moved_note["previous_starts_at"] == first["starts_at"].replace("Z", "+00:00")
    [cancel_note] = [e["payload"] for e in await outbox(api, "meeting.cancelled")]
    assert cancel_note["reason"] == "Holiday" and cancel_note["meetings"][0]["meeting_id"] == second["id"]
    assert await notifications(api, "circle.meeting_rescheduled") == []
    assert await notifications(api, "circle.meeting_cancelled") == []
    only_scheduled = (await api.get(joe, f"{base}?status=scheduled")).json()["items"]
    assert [m["id"] for m in only_scheduled] == [first["id"]]
    assert (await api.post(ben, f"/api/v1/circles/{circle['id']}/meetings/{joe.id}/cancel")).status_code == 404


async def test_generating_twice_at_once_never_duplicates_a_meeting(api):
    ben = await make_facilitator(api)
    circle = await make_circle(api, ben)
    base = f"/api/v1/circles/{circle['id']}/meetings"
    responses = await asyncio.gather(*(api.post(ben, base, {"count": 4}) for _ in range(3)))
    assert [r.status_code for r in responses] == [201, 201, 201]
    starts = [m["starts_at"] for m in (await api.get(ben, f"{base}?limit=100")).json()["items"]]
    assert len(starts) == 12 and len(set(starts)) == 12
