"""Reminder use cases: keep the agenda from circles' meeting messages, and the scheduler's cycle
that sends each reminder once (REMINDER_OFFSETS_MINUTES before the start, default 24 h and 2 h).

Time is real time: a reminder 24 h before a 19:00 meeting on the day after a DST change goes out
24 hours earlier (18:00 or 20:00 by the wall clock), and its text shows the meeting's local time
in the circle's timezone. A reminder is only sent while more time remains than the next, smaller
offset (a meeting scheduled 3 hours ahead gets the 2 h reminder, not a late 24 h one); cancelled
items are not reminded; a moved meeting is reminded for its new time.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.audience import service as audience
from mcm_messaging.notifications import service as notifications
from mcm_messaging.notifications.service import Entry
from mcm_messaging.notifications.wording import local, parse_time, where
from mcm_messaging.reminders.models import AgendaItem
from mcm_messaging.reminders.repository import AgendaRepository
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.events import Envelope

REMINDER_NAMESPACE = uuid.UUID("0b5f2f4e-57c5-4d55-9a57-0e5d0d7b8a21")


def _where(payload: dict[str, Any]) -> dict[str, str]:
    return {key: str(payload[key]) for key in ("address", "video_url") if payload.get(key)}


# -- bus handlers (inside the consumer's transaction) -------------------------------------------
async def on_meetings(session: AsyncSession, envelope: Envelope) -> None:
    """`meeting.scheduled|rescheduled|cancelled`: the meetings of the message, as they are now."""
    payload = envelope.payload
    repository = AgendaRepository(session)
    for meeting in payload.get("meetings") or []:
        meeting_id, starts_at = meeting.get("meeting_id"), parse_time(meeting.get("starts_at"))
        if not meeting_id or starts_at is None:
            continue
        if envelope.type == "meeting.cancelled":
            await repository.cancel(uuid.UUID(str(meeting_id)), envelope.occurred_at)
            continue
        await repository.upsert(
            {
                "item_id": uuid.UUID(str(meeting_id)),
                "kind": "meeting",
                "circle_id": uuid.UUID(str(payload["circle_id"])),
                "title": str(payload.get("circle_name") or ""),
                "starts_at": starts_at,
                "timezone": str(payload.get("timezone") or "UTC"),
                "details": _where(payload),
                "changed_at": envelope.occurred_at,
            }
        )


# -- the scheduler -----------------------------------------------------------------------------
def _hours(minutes: int) -> str:
    if minutes % 60:
        return f"{minutes} minutes"
    hours = minutes // 60
    return "1 hour" if hours == 1 else f"{hours} hours"


def _meeting_reminder(item: AgendaItem, offset_minutes: int) -> Entry:
    when = local(item.starts_at, item.timezone)
    body = f"{item.title} meets in {_hours(offset_minutes)}: {when}."
    if where(item.details):
        body += f"\n{where(item.details)}"
    data = {
        "circle_id": str(item.circle_id),
        "circle_name": item.title,
        "meeting_id": str(item.item_id),
        "starts_at": item.starts_at.isoformat(),
        "local_starts_at": when,
        "timezone": item.timezone,
        "in": _hours(offset_minutes),
        "where": where(item.details),
        **{key: str(value) for key, value in item.details.items()},
    }
    return Entry("meeting_reminder", f"Reminder: {item.title}, {when}", body, f"/circles/{item.circle_id}", data)


async def send_due(session: AsyncSession, runtime: MessagingRuntime, now: datetime | None = None) -> int:
    """One scheduler cycle: every reminder whose time has come, once. Only one replica scans at a
    time (advisory lock); each reminder is claimed by its own row, so even two scans at once
    could not send one twice. Commits; returns how many reminders went out."""
    now = now or runtime.now()
    repository = AgendaRepository(session)
    if not await repository.lead():
        await session.rollback()
        return 0
    offsets = sorted(set(runtime.settings.reminder_offsets_minutes), reverse=True)
    sent = 0
    for index, offset in enumerate(offsets):
        until = offsets[index + 1] if index + 1 < len(offsets) else 0
        for item in await repository.due(now, offset, until):
            if not await repository.mark_sent(item, offset, now):
                continue
            people = await audience.people_of_circle(session, item.circle_id) if item.circle_id else []
            source = uuid.uuid5(REMINDER_NAMESPACE, f"{item.item_id}:{offset}:{item.starts_at.isoformat()}")
            await notifications.record(session, runtime, source, people, _meeting_reminder(item, offset))
            sent += 1
    await session.commit()
    return sent
