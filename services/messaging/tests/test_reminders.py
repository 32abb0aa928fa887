"""Reminders: the agenda fed by circles' meeting messages and the scheduler, run here by hand
with a chosen `now` (the background scheduler is off): timing in real time across DST changes
with the local time in the text, never twice (two schedulers at once), never for a cancelled
meeting, again for a moved one; and the inbox key that makes any source count once."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from mcm_messaging.notifications import service as notifications
from mcm_messaging.notifications.service import Entry
from mcm_messaging.reminders import service as reminders
from mcm_shared.db import to_async_url

pytestmark = pytest.mark.settings(reminders_enabled=False)


@pytest.fixture
async def sessions(harness):
    engine = create_async_engine(to_async_url(harness.database_url))
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def circle_with_member(harness) -> tuple[uuid.UUID, uuid.UUID]:
    circle, member = uuid.uuid4(), await harness.user()
    await harness.join(circle, member)
    return circle, member


async def meeting(harness, event_type, circle, meeting_id, starts_at, **extra) -> None:
    await harness.applied(
        await harness.publish(
            "circles",
            event_type,
            {
                "circle_id": circle,
                "circle_name": "Oak",
                "timezone": "Europe/Berlin",
                "meetings": [{"meeting_id": meeting_id, "starts_at": starts_at}],
                **extra,
            },
        )
    )


async def run(harness, sessions, now) -> int:
    async with sessions() as session:
        return await reminders.send_due(session, harness.served.app.state.runtime, now)


async def reminders_of(harness, member) -> list[dict]:
    rows = await harness.sql(
        "SELECT title, body, data FROM messaging.notifications WHERE user_id = $1 AND kind = 'meeting_reminder'"
        " ORDER BY created_at",
        member,
    )
    return [{**dict(row), "data": json.loads(row["data"])} for row in rows]


@pytest.mark.parametrize(
    ("starts_at", "due", "wall_clock_when_due"),
    [
        # Spring: 19:00 CEST on Sunday 28 March 2027, the day clocks go forward (02:00 → 03:00).
        # 24 hours of real time earlier is Saturday 17:00 UTC = 18:00 CET by the wall clock.
        (datetime(2027, 3, 28, 17, tzinfo=UTC), datetime(2027, 3, 27, 17, tzinfo=UTC), "18:00"),
        # Autumn: 19:00 CET on Sunday 31 October 2027, the day clocks go back (03:00 → 02:00).
        (datetime(2027, 10, 31, 18, tzinfo=UTC), datetime(2027, 10, 30, 18, tzinfo=UTC), "20:00"),
        # The day after the spring change: no change inside the 24 hours, 19:00 → 19:00.
        (datetime(2027, 3, 29, 17, tzinfo=UTC), datetime(2027, 3, 28, 17, tzinfo=UTC), "19:00"),
    ],
)
async def test_reminders_count_real_hours_across_dst_and_show_local_time(
    harness, sessions, starts_at, due, wall_clock_when_due
):
    circle, member = await circle_with_member(harness)
    await meeting(harness, "meeting.scheduled", circle, uuid.uuid4(), starts_at)
    assert f"{due.astimezone(ZoneInfo('Europe/Berlin')):%H:%M}" == wall_clock_when_due
    assert await run(harness, sessions, due - timedelta(seconds=1)) == 0
    assert await run(harness, sessions, due) == 1
    [day_before] = await reminders_of(harness, member)
    local = starts_at.astimezone(ZoneInfo("Europe/Berlin"))
    assert local.hour == 19
    assert f"{local.day} {local:%B %Y}, 19:00 (Europe/Berlin)" in day_before["body"]
    assert "24 hours" in day_before["body"]
    # The 2-hour reminder comes 2 real hours before the start, once.
    assert await run(harness, sessions, starts_at - timedelta(hours=2, seconds=1)) == 0
    assert await run(harness, sessions, starts_at - timedelta(hours=2)) == 1
    assert await run(harness, sessions, starts_at - timedelta(minutes=30)) == 0
    assert [r["data"]["in"] for r in await reminders_of(harness, member)] == ["24 hours", "2 hours"]


async def test_two_schedulers_at_once_send_each_reminder_once(harness, sessions):
    circle, member = await circle_with_member(harness)
    starts_at = datetime(2031, 5, 6, 17, tzinfo=UTC)
    for offset in range(5):
        await meeting(harness, "meeting.scheduled", circle, uuid.uuid4(), starts_at + timedelta(days=offset * 7))
    now = starts_at + timedelta(days=28) - timedelta(hours=23)  # every 24 h reminder due for the last one only
    results = await asyncio.gather(*(run(harness, sessions, now) for _ in range(4)))
    assert sum(results) == 1
    assert len(await reminders_of(harness, member)) == 1
    # And again later: nothing new.
    assert await run(harness, sessions, now + timedelta(minutes=5)) == 0


async def test_cancelled_meetings_are_not_reminded_and_moved_ones_are_at_their_new_time(harness, sessions):
    circle, member = await circle_with_member(harness)
    cancelled, moved = uuid.uuid4(), uuid.uuid4()
    first = datetime(2031, 6, 3, 17, tzinfo=UTC)
    await meeting(harness, "meeting.scheduled", circle, cancelled, first)
    await meeting(harness, "meeting.scheduled", circle, moved, first + timedelta(days=7))
    await meeting(harness, "meeting.cancelled", circle, cancelled, first, reason="holiday")
    assert await run(harness, sessions, first - timedelta(hours=1)) == 0
    # Reminded for its first time, then moved a day later: reminded again for the new time.
    assert await run(harness, sessions, first + timedelta(days=6)) == 1
    later = first + timedelta(days=8)
    await meeting(harness, "meeting.rescheduled", circle, moved, later, previous_starts_at=first + timedelta(days=7))
    assert await run(harness, sessions, first + timedelta(days=6, hours=1)) == 0
    assert await run(harness, sessions, later - timedelta(hours=24)) == 1
    bodies = [r["body"] for r in await reminders_of(harness, member)]
    assert len(bodies) == 2 and "11 June 2031" in bodies[1]


async def test_a_meeting_scheduled_late_gets_only_the_reminder_still_useful(harness, sessions):
    circle, member = await circle_with_member(harness)
    starts_at = datetime(2031, 7, 1, 17, tzinfo=UTC)
    await meeting(harness, "meeting.scheduled", circle, uuid.uuid4(), starts_at)
    assert await run(harness, sessions, starts_at - timedelta(hours=1)) == 1
    assert [r["data"]["in"] for r in await reminders_of(harness, member)] == ["2 hours"]


async def test_one_source_makes_one_entry_per_member_however_often_it_is_recorded(harness, sessions):
    member = await harness.user()
    source = uuid.uuid4()
    entry = Entry("dues_overdue", "Overdue", "A payment is overdue.", "/payments")
    runtime = harness.served.app.state.runtime

    async def once() -> int:
        async with sessions() as session:
            made = await notifications.record(session, runtime, source, [member, member], entry)
            await session.commit()
            return made

    assert [await once(), await once()] == [1, 0]
    rows = await harness.sql("SELECT count(*) AS n FROM messaging.notifications WHERE source_id = $1", source)
    assert rows[0]["n"] == 1


@pytest.mark.settings(reminders_enabled=False, notification_email_delay_seconds=0)
async def test_dispatchers_on_several_replicas_ask_for_each_email_once(harness, sessions):
    """SKIP LOCKED: dispatchers running at once (three here plus the app's own) share the due rows
    and never ask auth twice for one entry."""
    runtime = harness.served.app.state.runtime
    people = [await harness.user() for _ in range(3)]
    async with sessions() as session:
        for index in range(20):
            entry = Entry("dues_overdue", f"Overdue {index}", "A payment is overdue.", "/payments")
            await notifications.record(session, runtime, uuid.uuid4(), people, entry)
        await session.commit()

    async def dispatch() -> None:
        async with sessions() as session:
            await notifications.dispatch(session, runtime)

    for _ in range(3):
        await asyncio.gather(*(dispatch() for _ in range(3)))

    async def settled() -> bool:
        rows = await harness.sql("SELECT count(*) AS n FROM messaging.notifications WHERE email_state = 'pending'")
        return rows[0]["n"] == 0

    await harness.wait_for(settled, what="every email settled")
    rows = await harness.sql(
        "SELECT payload->'recipient_user_ids'->>0 AS user_id, payload->'data'->>'title' AS title"
        " FROM messaging.outbox WHERE event_type = 'notification.requested'"
    )
    asked = [(row["user_id"], row["title"]) for row in rows]
    assert len(asked) == 60 and len(set(asked)) == 60
