"""Profiles follow auth's user.registered / user.updated / user.erased events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from .support import deliver, make_circle, make_facilitator, make_member, make_user, outbox, processed


async def auth_event(api, event_type, payload, occurred_at=None):
    event_id = await deliver(
        api, api.settings.auth_events_stream, event_type, payload, producer="auth", occurred_at=occurred_at
    )
    await processed(api, event_id)


async def profile(api, user_id):
    rows = await api.rows("SELECT * FROM circles.profiles WHERE user_id = :id", id=user_id)
    return rows[0] if rows else None


async def test_registered_user_gets_a_profile_and_updates_follow(api):
    user_id = uuid.uuid4()
    await auth_event(api, "user.registered", {"user_id": str(user_id), "display_name": "Joe"})
    assert (await profile(api, user_id))["display_name"] == "Joe"
    await auth_event(api, "user.updated", {"user_id": str(user_id), "display_name": "Joseph", "email_verified": True})
    row = await profile(api, user_id)
    assert (row["display_name"], row["verified_email"], row["verified_phone"]) == ("Joseph", True, False)
    await auth_event(api, "user.updated", {"user_id": str(user_id), "verified_phone": True})
    row = await profile(api, user_id)
    assert (row["display_name"], row["verified_email"], row["verified_phone"]) == ("Joseph", True, True)


async def test_an_older_update_arriving_late_is_ignored(api):
    user_id = uuid.uuid4()
    now = datetime.now(UTC)
    await auth_event(api, "user.updated", {"user_id": str(user_id), "display_name": "Newest"}, occurred_at=now)
    await auth_event(
        api,
        "user.registered",
        {"user_id": str(user_id), "display_name": "Original"},
        occurred_at=now - timedelta(minutes=5),
    )
    assert (await profile(api, user_id))["display_name"] == "Newest"


async def test_event_after_first_use_replaces_the_placeholder_name(api):
    newcomer = await make_user(api, profile=False)
    assert (await api.get(newcomer, "/api/v1/members/me")).json()["display_name"] == "Member"
    await auth_event(api, "user.registered", {"user_id": str(newcomer.id), "display_name": "Sam"})
    assert (await api.get(newcomer, "/api/v1/members/me")).json()["display_name"] == "Sam"


async def test_erased_user_is_anonymised_while_history_and_counts_remain(api):
    ben = await make_facilitator(api, name="Ben")
    circle = await make_circle(api, ben, dues={"amount": 2000, "currency": "EUR"})
    joe = await make_member(api, circle, name="Joe")
    other = await make_member(api, circle, name="Max")
    base = f"/api/v1/circles/{circle['id']}"
    when = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    meeting = (await api.post(ben, f"{base}/meetings", {"starts_at": when})).json()["items"][0]["id"]
    await api.put(
        ben,
        f"{base}/meetings/{meeting}/attendance",
        {
            "records": [
                {"user_id": str(joe.id), "status": "present", "note": "Talked about his divorce"},
                {"user_id": str(other.id), "status": "absent"},
            ]
        },
    )
    await api.post(
        joe, f"{base}/goals", {"title": "Forgive my ex", "period_start": "2030-01-01", "period_end": "2030-01-31"}
    )

    await auth_event(api, "user.erased", {"user_id": str(joe.id)})

    row = await profile(api, joe.id)
    assert row["display_name"] == "Former member" and row["erased_at"] is not None
    assert (await api.get(ben, base)).json()["member_count"] == 1
    ended = (await api.rows("SELECT status, end_reason FROM circles.memberships WHERE user_id = :id", id=joe.id))[0]
    assert (ended["status"], ended["end_reason"]) == ("ended", "account_erased")
    assert [e["payload"]["reason"] for e in await outbox(api, "membership.ended")] == ["account_erased"]
    sheet = (await api.get(ben, f"{base}/meetings/{meeting}/attendance")).json()["records"]
    assert {(r["display_name"], r["status"], r["note"]) for r in sheet} == {
        ("Former member", "present", None),
        ("Max", "absent", None),
    }
    summary = (await api.get(ben, f"{base}/attendance")).json()
    assert summary["meetings_recorded"] == 1 and summary["rate"] == 0.5
    assert await api.scalar("SELECT title FROM circles.goals WHERE user_id = :id", id=joe.id) == "(erased)"
    assert "Forgive" not in str(await api.rows("SELECT title FROM circles.goals"))

    await auth_event(api, "user.updated", {"user_id": str(joe.id), "display_name": "Joe again"})
    assert (await profile(api, joe.id))["display_name"] == "Former member"
    await auth_event(api, "user.erased", {"user_id": str(joe.id)})  # re-delivered erasure: nothing more happens
    assert len(await outbox(api, "membership.ended")) == 1
