"""From what happened to inbox entries: the bus handlers of the notification centre.

Each handler reads a domain message another service published (circles: `registration.promoted`,
`meeting.scheduled|rescheduled|cancelled`, `transfer.decided`; payments: `obligation.payment_failed`,
`obligation.overdue`; auth: `user.updated` for roles granted), decides who hears of it and how it
reads, and records it (service.record) keyed by the message's id. Handlers run inside the
consumer's transaction and never commit.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.audience import service as audience
from mcm_messaging.notifications import service
from mcm_messaging.notifications.service import Entry
from mcm_messaging.notifications.wording import local, parse_time, where
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.events import Envelope, Handler

# A role granted longer ago than this is not announced (the backfill replays old grants).
STALE = timedelta(days=1)


def _uuid(payload: dict[str, Any], key: str) -> uuid.UUID | None:
    value = payload.get(key)
    return uuid.UUID(str(value)) if value else None


def _money(amount: Any, currency: Any) -> str:
    try:
        return f"{int(amount) / 100:.2f} {str(currency or '').upper()}".strip()
    except (TypeError, ValueError):
        return ""


def _where(payload: dict[str, Any]) -> dict[str, str]:
    """Where the circle meets, when circles sent it (address, video link)."""
    return {key: str(payload[key]) for key in ("address", "video_url") if payload.get(key)}


async def _circle_audience(session: AsyncSession, payload: dict[str, Any]) -> set[uuid.UUID]:
    circle_id = _uuid(payload, "circle_id")
    if circle_id is None:
        return set()
    actor = _uuid(payload, "actor_id")
    return {user for user in await audience.people_of_circle(session, circle_id) if user != actor}


def _meeting_data(payload: dict[str, Any]) -> dict[str, Any]:
    return {
        "circle_id": str(payload.get("circle_id")),
        "circle_name": str(payload.get("circle_name") or ""),
        "timezone": str(payload.get("timezone") or "UTC"),
        "meetings": payload.get("meetings") or [],
        **_where(payload),
    }


def handlers(runtime: MessagingRuntime) -> dict[str, Handler]:
    async def waitlist_promoted(session: AsyncSession, envelope: Envelope) -> None:
        payload = envelope.payload
        user_id, event_id = _uuid(payload, "user_id"), payload.get("event_id")
        if user_id is None:
            return
        title = str(payload.get("title") or "an event")
        hold = parse_time(payload.get("hold_expires_at"))
        body = f'A place opened up for "{title}" and it is yours.'
        if hold is not None:
            body += f" Pay before {hold:%Y-%m-%d %H:%M} UTC to keep it."
        data = {"title": title, "event_id": str(event_id), "status": str(payload.get("status") or "")}
        if hold is not None:
            data["hold_expires_at"] = hold.isoformat()
        entry = Entry("waitlist_promoted", f"A place opened up: {title}", body, f"/events/{event_id}", data)
        await service.record(session, runtime, envelope.id, [user_id], entry)

    async def meeting_changed(session: AsyncSession, envelope: Envelope) -> None:
        payload = envelope.payload
        recipients = await _circle_audience(session, payload)
        if not recipients:
            return
        data = _meeting_data(payload)
        name, timezone = data["circle_name"], data["timezone"]
        starts = [moment for m in data["meetings"] if (moment := parse_time(m.get("starts_at")))]
        when = ", ".join(local(moment, timezone) for moment in starts[:5]) or "soon"
        kind = envelope.type.replace(".", "_")  # meeting_scheduled|meeting_rescheduled|meeting_cancelled
        if envelope.type == "meeting.rescheduled":
            previous = parse_time(payload.get("previous_starts_at"))
            data["previous_starts_at"] = previous.isoformat() if previous else ""
            data["previous_when"] = local(previous, timezone) if previous else ""
            title = f"Meeting moved: {name}"
            body = f"The meeting of {name} was moved to {when}" + (
                f" (it was {local(previous, timezone)})." if previous else "."
            )
        elif envelope.type == "meeting.cancelled":
            data["reason"] = str(payload.get("reason") or "")
            title = f"Meeting cancelled: {name}"
            body = f"The meeting of {name} on {when} is cancelled. {data['reason']}".strip()
        else:
            title = f"New meeting: {name}"
            body = f"{name} meets on {when}."
        data["when"] = when
        data["where"] = where(data)
        if data["where"]:
            body += f"\n{data['where']}"
        entry = Entry(kind, title, body, f"/circles/{data['circle_id']}", data)
        await service.record(session, runtime, envelope.id, recipients, entry)

    async def transfer_decided(session: AsyncSession, envelope: Envelope) -> None:
        payload = envelope.payload
        user_id = _uuid(payload, "user_id")
        if user_id is None:
            return
        approved = payload.get("decision") == "approved"
        name = str(payload.get("circle_name") or "the circle")
        note = str(payload.get("note") or "")
        data = {
            "transfer_request_id": str(payload.get("transfer_request_id")),
            "from_circle_id": str(payload.get("from_circle_id")),
            "circle_id": str(payload.get("circle_id")),
            "circle_name": name,
            "note": note,
        }
        verdict = "approved" if approved else "declined"
        entry = Entry(
            "transfer_decided",
            f"Transfer {verdict}: {name}",
            f'Your transfer to "{name}" was {verdict}. {note}'.strip(),
            f"/circles/{data['circle_id']}",
            data,
            template=f"circle.transfer_{verdict}",
        )
        await service.record(session, runtime, envelope.id, [user_id], entry)

    async def payment_failed(session: AsyncSession, envelope: Envelope) -> None:
        payload = envelope.payload
        user_id = _uuid(payload, "user_id")
        if user_id is None:
            return
        amount = _money(payload.get("amount_due"), payload.get("currency"))
        data = {
            "obligation_id": str(payload.get("obligation_id")),
            "kind": str(payload.get("kind") or ""),
            "amount": amount,
            "reason": str(payload.get("reason") or ""),
        }
        body = f"A payment of {amount} could not be taken. Check your card in Payments and try again."
        entry = Entry("payment_failed", "A payment failed", body, "/payments", data)
        await service.record(session, runtime, envelope.id, [user_id], entry)

    async def dues_overdue(session: AsyncSession, envelope: Envelope) -> None:
        payload = envelope.payload
        user_id = _uuid(payload, "user_id")
        if user_id is None:
            return
        amount = _money(payload.get("amount_due"), payload.get("currency"))
        data = {
            "obligation_id": str(payload.get("obligation_id")),
            "kind": str(payload.get("kind") or ""),
            "amount": amount,
        }
        body = f"A payment of {amount} is overdue. Please settle it under Payments."
        entry = Entry("dues_overdue", "A payment is overdue", body, "/payments", data)
        await service.record(session, runtime, envelope.id, [user_id], entry)

    return {
        "registration.promoted": waitlist_promoted,
        "meeting.scheduled": meeting_changed,
        "meeting.rescheduled": meeting_changed,
        "meeting.cancelled": meeting_changed,
        "transfer.decided": transfer_decided,
        "obligation.payment_failed": payment_failed,
        "obligation.overdue": dues_overdue,
    }


async def roles_granted(
    session: AsyncSession, runtime: MessagingRuntime, envelope: Envelope, before: frozenset[str]
) -> None:
    """`user.updated`: a role he did not hold before (per the read model) is news to him."""
    if runtime.now() - envelope.occurred_at > STALE:
        return  # history replayed at the first start (the backfill) is not news
    payload = envelope.payload
    user_id = _uuid(payload, "user_id")
    granted = sorted({str(role) for role in payload.get("roles") or []} - before - {"member"})
    if user_id is None or not granted:
        return
    roles = ", ".join(granted)
    entry = Entry(
        "role_granted", f"New role: {roles}", f"You now hold the role {roles} on the platform.", "/", {"roles": roles}
    )
    await service.record(session, runtime, envelope.id, [user_id], entry)
