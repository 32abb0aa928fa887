"""Notification-centre use cases: record an entry (from a bus message or a reminder), list and
count a member's entries, mark them read, and the dispatcher's cycle (push new entries to the
member's sockets; ask auth for the email of those still unread after the delay).

Recording runs inside the caller's transaction (the bus consumer's, or the scheduler's) and never
commits. An entry is keyed by (source id, member): a redelivered message records nothing new.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.notifications.kinds import KINDS, Email
from mcm_messaging.notifications.models import Notification
from mcm_messaging.notifications.repository import NotificationRepository
from mcm_messaging.notifications.schemas import NotificationOut, NotificationPage, ReadResult
from mcm_messaging.outbox import WRITER
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.events import Envelope
from mcm_shared.pagination import PageParams, make_cursor, parse_datetime, read_cursor

SORT = "notifications"
DISPATCH_BATCH = 200


@dataclass(frozen=True, slots=True)
class Entry:
    """What happened, for whom, as the member reads it in the app."""

    kind: str
    title: str
    body: str
    link: str | None
    data: dict[str, Any] = field(default_factory=dict)
    # Auth's template when this entry's wording differs from its kind's (a declined transfer).
    template: str | None = None


async def _ask_auth(session: AsyncSession, notification: Notification) -> None:
    # Auth resolves the person's verified addresses and preferences; we say who and what.
    await WRITER.publish(
        session,
        "notification.requested",
        {
            "recipient_user_ids": [notification.user_id],
            "template": notification.template,
            "data": {**notification.data, "title": notification.title, "link": notification.link or ""},
        },
        key=str(notification.user_id),
    )


async def record(
    session: AsyncSession,
    runtime: MessagingRuntime,
    source_id: uuid.UUID,
    user_ids: list[uuid.UUID] | set[uuid.UUID],
    entry: Entry,
) -> int:
    """One inbox entry per member for this source (none twice); urgent kinds ask auth for the
    email at once. Returns how many entries are new."""
    kind = KINDS[entry.kind]
    now = runtime.now()
    delay = timedelta(seconds=runtime.settings.notification_email_delay_seconds)
    repository = NotificationRepository(session)
    created = 0
    for user_id in sorted(set(user_ids), key=str):
        notification_id = uuid.uuid4()
        values = {
            "id": notification_id,
            "user_id": user_id,
            "source_id": source_id,
            "kind": kind.name,
            "title": entry.title[:300],
            "body": entry.body[:2000],
            "link": entry.link,
            "template": entry.template or kind.template,
            "data": entry.data,
            "urgent": kind.email is Email.AT_ONCE,
            "created_at": now,
            "email_state": "skipped" if kind.email is Email.NEVER else "pending",
            "email_due_at": now + delay if kind.email is Email.IF_UNREAD else None,
        }
        if not await repository.add(values):
            continue
        created += 1
        if kind.email is Email.AT_ONCE:
            values["email_state"] = "requested"
            notification = Notification(**values)
            await _ask_auth(session, notification)
            await repository.set_email_state(notification_id, "requested")
    return created


def to_out(notification: Notification) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        kind=notification.kind,
        title=notification.title,
        body=notification.body,
        link=notification.link,
        data=notification.data,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


async def list_mine(
    session: AsyncSession, user_id: uuid.UUID, paging: PageParams, *, unread_only: bool
) -> NotificationPage:
    repository = NotificationRepository(session)
    before = read_cursor(paging.cursor, SORT, parse_datetime)
    rows = await repository.page(user_id, paging.limit + 1, before, unread_only)
    page = list(rows[: paging.limit])
    cursor = make_cursor(SORT, page[-1].created_at, page[-1].id) if len(rows) > paging.limit and page else None
    return NotificationPage(
        items=[to_out(row) for row in page], next_cursor=cursor, unread_count=await repository.unread_count(user_id)
    )


async def mark_read(
    session: AsyncSession, runtime: MessagingRuntime, user_id: uuid.UUID, ids: list[uuid.UUID] | None
) -> ReadResult:
    repository = NotificationRepository(session)
    marked = await repository.mark_read(user_id, ids, runtime.now())
    await session.commit()
    return ReadResult(marked=marked, unread_count=await repository.unread_count(user_id))


async def dispatch(session: AsyncSession, runtime: MessagingRuntime) -> tuple[int, int]:
    """One dispatcher cycle: push entries not pushed yet, then settle the emails that are due
    (asked of auth when still unread, skipped when read). Rows are claimed with SKIP LOCKED, so
    replicas share the work without taking a row twice. Commits; returns (pushed, emailed)."""
    repository = NotificationRepository(session)
    now = runtime.now()
    unpushed = await repository.claim_unpushed(DISPATCH_BATCH)
    if unpushed:
        if runtime.realtime is not None:
            for notification in unpushed:
                frame = to_out(notification).model_dump(mode="json")
                await runtime.realtime.feeds.push([notification.user_id], "notification", frame)
        for notification in unpushed:
            notification.pushed_at = now
    emailed = 0
    for notification in await repository.claim_email_due(now, DISPATCH_BATCH):
        if notification.read_at is None:
            await _ask_auth(session, notification)
            notification.email_state = "requested"
            emailed += 1
        else:
            notification.email_state = "skipped"
    await session.commit()
    return len(unpushed), emailed


async def on_user_erased(session: AsyncSession, envelope: Envelope) -> None:
    """`user.erased`: his inbox goes (it is about him and addressed to him); pending emails with it."""
    await NotificationRepository(session).delete_for(uuid.UUID(str(envelope.payload["user_id"])))
