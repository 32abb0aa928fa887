"""The notification centre: what other services publish becomes entries in the member's inbox
(once per message, however often it is delivered), pushed to his sockets, listed and marked read
over HTTP, and asked of auth by email (`notification.requested`) at once for urgent kinds,
otherwise only when still unread after NOTIFICATION_EMAIL_DELAY_SECONDS."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from websockets.asyncio.client import ClientConnection, connect

NOTIFICATIONS = "/api/v1/notifications"


async def open_socket(harness, user_id) -> ClientConnection:
    made = await harness.http.post(
        "/api/v1/realtime/tickets", headers=harness.issuer.headers(user_id, roles=("member",))
    )
    socket = await connect(harness.served.url.replace("http://", "ws://") + "/api/v1/realtime")
    await socket.send(json.dumps({"type": "auth", "ticket": made.json()["ticket"]}))
    await socket.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 5)) == {"type": "pong"}
    return socket


async def next_frame(socket: ClientConnection, kind: str) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), 10))
        if frame["type"] == kind:
            return frame


async def inbox(harness, user_id, **params) -> dict:
    answer = await harness.get(NOTIFICATIONS, user_id, **params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def requests_to_auth(harness) -> list[dict]:
    rows = await harness.sql(
        "SELECT payload FROM messaging.outbox WHERE event_type = 'notification.requested' ORDER BY created_at"
    )
    return [json.loads(row["payload"]) if isinstance(row["payload"], str) else row["payload"] for row in rows]


async def entries_of(harness, user_id) -> list[dict]:
    async def probe():
        return (await inbox(harness, user_id))["items"]

    return await harness.wait_for(probe, what="an inbox entry")


async def test_a_promotion_from_the_waitlist_lands_in_the_inbox_once(harness):
    member, event_id = await harness.user(), uuid.uuid4()
    payload = {"registration_id": uuid.uuid4(), "event_id": event_id, "user_id": member, "title": "Retreat"}
    envelope = await harness.publish("circles", "registration.promoted", {**payload, "status": "confirmed"})
    await harness.applied(envelope)
    # The same message delivered again (a redelivery after a crash) makes no second entry.
    await harness.redis.xadd(harness.streams["circles"], envelope.to_fields())
    await harness.wait_for(
        lambda: _count(harness, "SELECT count(*) AS n FROM messaging.inbox WHERE event_id = $1", envelope.id),
        what="the redelivery",
    )
    await asyncio.sleep(0.3)
    [entry] = await entries_of(harness, member)
    assert entry["kind"] == "waitlist_promoted" and entry["link"] == f"/events/{event_id}"
    assert "Retreat" in entry["title"] and entry["read_at"] is None
    assert (await inbox(harness, member))["unread_count"] == 1
    rows = await harness.sql("SELECT count(*) AS n FROM messaging.notifications WHERE source_id = $1", envelope.id)
    assert rows[0]["n"] == 1
    # Nobody else hears of it.
    assert (await inbox(harness, await harness.user()))["items"] == []


async def _count(harness, query, *args) -> int:
    return (await harness.sql(query, *args))[0]["n"]


async def test_mark_read_by_ids_or_all_and_only_my_own(harness):
    member, other = await harness.user(), await harness.user()
    for title in ("A", "B", "C"):
        await harness.applied(
            await harness.publish(
                "circles",
                "registration.promoted",
                {"registration_id": uuid.uuid4(), "event_id": uuid.uuid4(), "user_id": member, "title": title},
            )
        )
    await harness.applied(
        await harness.publish(
            "circles",
            "registration.promoted",
            {"registration_id": uuid.uuid4(), "event_id": uuid.uuid4(), "user_id": other, "title": "X"},
        )
    )
    items = (await inbox(harness, member))["items"]
    assert [item["title"].split(": ")[1] for item in items] == ["C", "B", "A"]  # newest first
    theirs = (await inbox(harness, other))["items"][0]["id"]
    marked = await harness.post(f"{NOTIFICATIONS}/read", member, {"ids": [items[0]["id"], theirs]})
    assert marked.status_code == 200 and marked.json() == {"marked": 1, "unread_count": 2}
    assert (await inbox(harness, other))["unread_count"] == 1  # his id was ignored
    assert [i["title"][-1] for i in (await inbox(harness, member, unread="true"))["items"]] == ["B", "A"]
    assert (await harness.post(f"{NOTIFICATIONS}/read", member, {"all": True})).json()["unread_count"] == 0
    for bad in ({}, {"ids": [], "all": True}, {"all": False}):
        assert (await harness.post(f"{NOTIFICATIONS}/read", member, bad)).status_code == 422
    page = await inbox(harness, member, limit=2)
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = await inbox(harness, member, limit=2, cursor=page["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None


async def test_notifications_need_a_signed_in_person(harness):
    assert (await harness.http.get(NOTIFICATIONS)).status_code == 401
    service = harness.issuer.headers("svc:circles", roles=())
    assert (await harness.http.get(NOTIFICATIONS, headers=service)).status_code == 403


async def test_an_entry_is_pushed_to_every_device_as_a_notification_frame(harness):
    member = await harness.user()
    phone, laptop = await open_socket(harness, member), await open_socket(harness, member)
    await harness.publish(
        "payments",
        "obligation.payment_failed",
        {"obligation_id": uuid.uuid4(), "kind": "membership", "user_id": member, "amount_due": 2500, "currency": "eur"},
    )
    on_phone, on_laptop = await next_frame(phone, "notification"), await next_frame(laptop, "notification")
    assert on_phone["data"] == on_laptop["data"]
    assert on_phone["data"]["kind"] == "payment_failed" and on_phone["data"]["link"] == "/payments"
    assert "25.00 EUR" in on_phone["data"]["body"]
    await phone.close()
    await laptop.close()


async def test_urgent_kinds_ask_auth_for_the_email_at_once(harness):
    member = await harness.user()
    obligation = uuid.uuid4()
    await harness.applied(
        await harness.publish(
            "payments",
            "obligation.payment_failed",
            {
                "obligation_id": obligation,
                "kind": "membership",
                "user_id": member,
                "amount_due": 900,
                "currency": "EUR",
            },
        )
    )
    [request] = await requests_to_auth(harness)
    assert request["recipient_user_ids"] == [str(member)]
    assert request["template"] == "payment_failed"
    assert request["data"]["obligation_id"] == str(obligation) and request["data"]["link"] == "/payments"


@pytest.mark.settings(notification_email_delay_seconds=60, notification_dispatch_interval_seconds=0.1)
async def test_other_kinds_are_emailed_only_when_unread_after_the_delay(harness):
    reader, away, circle = await harness.user(), await harness.user(), uuid.uuid4()
    await harness.join(circle, reader)
    await harness.join(circle, away)
    await harness.applied(
        await harness.publish(
            "circles",
            "meeting.cancelled",
            {
                "circle_id": circle,
                "circle_name": "Oak",
                "timezone": "Europe/Berlin",
                "meetings": [{"meeting_id": uuid.uuid4(), "starts_at": datetime(2030, 1, 7, 18, tzinfo=UTC)}],
                "reason": "Holiday",
            },
        )
    )
    [seen] = await entries_of(harness, reader)
    assert seen["kind"] == "meeting_cancelled" and "19:00" in seen["body"] and "Holiday" in seen["body"]
    await harness.post(f"{NOTIFICATIONS}/read", reader, {"ids": [seen["id"]]})
    await asyncio.sleep(0.5)
    assert await requests_to_auth(harness) == []  # not before the delay
    harness.clock.offset = timedelta(seconds=61)

    async def emailed():
        return await requests_to_auth(harness)

    [request] = await harness.wait_for(emailed, what="the delayed email")
    assert request["recipient_user_ids"] == [str(away)]  # the one who read it in time gets none
    assert request["template"] == "circle.meeting_cancelled"
    assert request["data"]["circle_name"] == "Oak" and request["data"]["reason"] == "Holiday"
    states = await harness.sql("SELECT user_id, email_state FROM messaging.notifications")
    assert {row["user_id"]: row["email_state"] for row in states} == {reader: "skipped", away: "requested"}


async def test_meeting_notices_reach_the_circle_but_not_the_actor(harness):
    facilitator, member, outsider, circle = (
        await harness.user(),
        await harness.user(),
        await harness.user(),
        uuid.uuid4(),
    )
    await harness.join(circle, facilitator, "facilitator")
    await harness.join(circle, member)
    moved = datetime(2030, 3, 4, 18, 30, tzinfo=UTC)
    await harness.applied(
        await harness.publish(
            "circles",
            "meeting.rescheduled",
            {
                "circle_id": circle,
                "circle_name": "Oak",
                "timezone": "Europe/Berlin",
                "actor_id": facilitator,
                "meetings": [{"meeting_id": uuid.uuid4(), "starts_at": moved}],
                "previous_starts_at": moved - timedelta(days=1),
                "address": "Hauptstr. 1, Berlin",
            },
        )
    )
    [entry] = await entries_of(harness, member)
    assert entry["kind"] == "meeting_rescheduled" and entry["link"] == f"/circles/{circle}"
    assert "Monday 4 March 2030, 19:30 (Europe/Berlin)" in entry["body"]
    assert "Hauptstr. 1" in entry["body"] and entry["data"]["address"] == "Hauptstr. 1, Berlin"
    assert (await inbox(harness, facilitator))["items"] == []
    assert (await inbox(harness, outsider))["items"] == []


async def test_transfer_decisions_dues_overdue_and_roles_granted(harness):
    member = await harness.user()
    target = uuid.uuid4()
    await harness.applied(
        await harness.publish(
            "circles",
            "transfer.decided",
            {
                "transfer_request_id": uuid.uuid4(),
                "user_id": member,
                "from_circle_id": uuid.uuid4(),
                "circle_id": target,
                "circle_name": "Birch",
                "decision": "declined",
                "note": "Full",
            },
        ),
        await harness.publish(
            "payments",
            "obligation.overdue",
            {
                "obligation_id": uuid.uuid4(),
                "kind": "membership",
                "user_id": member,
                "amount_due": 1000,
                "currency": "EUR",
            },
        ),
        await harness.publish("auth", "user.updated", {"user_id": member, "roles": ["member", "facilitator"]}),
        # No news: the same roles again.
        await harness.publish("auth", "user.updated", {"user_id": member, "roles": ["member", "facilitator"]}),
    )
    kinds = {item["kind"]: item for item in (await inbox(harness, member))["items"]}
    assert set(kinds) == {"transfer_decided", "dues_overdue", "role_granted"}
    assert kinds["transfer_decided"]["link"] == f"/circles/{target}" and "declined" in kinds["transfer_decided"]["body"]
    assert "facilitator" in kinds["role_granted"]["title"]
    templates = await harness.sql("SELECT kind, template FROM messaging.notifications")
    assert {row["kind"]: row["template"] for row in templates}["transfer_decided"] == "circle.transfer_declined"


async def test_an_erased_users_inbox_goes_with_him(harness):
    member, other = await harness.user(), await harness.user()
    for person in (member, other):
        await harness.applied(
            await harness.publish(
                "circles",
                "registration.promoted",
                {"registration_id": uuid.uuid4(), "event_id": uuid.uuid4(), "user_id": person, "title": "Retreat"},
            )
        )
    await harness.applied(await harness.publish("auth", "user.erased", {"user_id": member}))
    rows = await harness.sql("SELECT user_id FROM messaging.notifications")
    assert [row["user_id"] for row in rows] == [other]
