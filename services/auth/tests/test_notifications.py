"""Outbound messages, preferences and the `notification.requested` consumer (issue 3, item 7)."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, datetime

from sqlalchemy import text

from mcm_shared.events import Envelope, stream_for

from .conftest import bearer, signed_up, user_id_of, verified_user


async def request_notification(client, recipients, template="circle.join_approved", data=None, producer="circles"):
    envelope = Envelope(
        id=uuid.uuid4(),
        type="notification.requested",
        occurred_at=datetime.now(UTC),
        producer=producer,
        payload={
            "recipient_user_ids": [str(r) for r in recipients],
            "template": template,
            "data": data or {"circle_name": "Tuesday Men"},
        },
    )
    await client.app.state.redis.xadd(stream_for(producer), envelope.to_fields())
    return envelope


async def verify_phone(client, sms, tokens) -> str:
    import random

    number = f"+49151{random.randint(10**7, 10**8 - 1)}"
    assert (await client.post("/api/v1/auth/phone", json={"phone": number}, headers=bearer(tokens))).status_code == 202
    code = re.search(r"code is (\d{6})", (await sms.wait_for(number))[-1].body).group(1)
    assert (
        await client.post("/api/v1/auth/verify-phone", json={"code": code}, headers=bearer(tokens))
    ).status_code == 204
    return number


async def test_preferences_default_to_email_only_and_can_be_changed(client):
    _, tokens = await signed_up(client)
    path = "/api/v1/auth/me/notification-preferences"
    defaults = (await client.get(path, headers=bearer(tokens))).json()["topics"]
    assert {t["topic"] for t in defaults} == {"circles", "events", "payments", "general"}
    assert all(t["email"] and not t["sms"] for t in defaults)
    changed = await client.put(
        path, json={"topics": [{"topic": "circles", "email": False, "sms": True}]}, headers=bearer(tokens)
    )
    assert changed.status_code == 200
    circles = next(t for t in changed.json()["topics"] if t["topic"] == "circles")
    assert circles == {"topic": "circles", "email": False, "sms": True}
    assert next(t for t in changed.json()["topics"] if t["topic"] == "events")["email"] is True


async def test_preferences_refuse_unknown_topics_and_fields(client):
    _, tokens = await signed_up(client)
    path = "/api/v1/auth/me/notification-preferences"
    assert (
        await client.put(path, json={"topics": [{"topic": "spam", "email": True}]}, headers=bearer(tokens))
    ).status_code == 422
    assert (
        await client.put(path, json={"topics": [{"topic": "events", "fax": True}]}, headers=bearer(tokens))
    ).status_code == 422
    assert (await client.get(path)).status_code == 401


async def test_requested_notifications_reach_verified_email(client, mail):
    email, tokens = await verified_user(client, mail)
    await request_notification(client, [await user_id_of(client, tokens)])
    found = await mail.wait_for_text(email, "Tuesday Men", within=20)
    assert "was approved" in found.body and found.subject == "Welcome to Tuesday Men"


async def test_unverified_addresses_and_unknown_users_get_nothing(client, mail):
    email, tokens = await signed_up(client)
    verified_email, verified_tokens = await verified_user(client, mail)
    await request_notification(
        client,
        [await user_id_of(client, tokens), uuid.uuid4()],
        template="waitlist_promoted",
        data={"title": "Retreat A"},
    )
    await request_notification(
        client, [await user_id_of(client, verified_tokens)], template="waitlist_promoted", data={"title": "Retreat A"}
    )
    await mail.wait_for_text(verified_email, "Retreat A", within=20)
    assert not [m for m in mail.to(email) if "Retreat A" in m.body]


async def test_preferences_choose_the_channels(client, mail, sms):
    email, tokens = await verified_user(client, mail)
    number = await verify_phone(client, sms, tokens)
    await client.put(
        "/api/v1/auth/me/notification-preferences",
        json={"topics": [{"topic": "events", "email": False, "sms": True}]},
        headers=bearer(tokens),
    )
    await request_notification(
        client, [await user_id_of(client, tokens)], template="event_cancelled", data={"title": "Movie night"}
    )
    messages = await sms.wait_for(number, 2, within=20)
    assert "Movie night" in messages[-1].body
    await asyncio.sleep(0.5)
    assert not [m for m in mail.to(email) if "Movie night" in m.body]


async def test_a_redelivered_event_is_sent_once(client, mail):
    email, tokens = await verified_user(client, mail)
    envelope = await request_notification(client, [await user_id_of(client, tokens)], data={"circle_name": "Once Only"})
    await client.app.state.redis.xadd(stream_for("circles"), envelope.to_fields())  # the same event again
    await mail.wait_for_text(email, "Once Only", within=20)
    await asyncio.sleep(1.0)
    assert len([m for m in mail.to(email) if "Once Only" in m.body]) == 1


async def test_other_services_cannot_send_security_templates(client, mail):
    email, tokens = await verified_user(client, mail)
    await request_notification(
        client, [await user_id_of(client, tokens)], template="password_reset", data={"link": "https://evil.example"}
    )
    await request_notification(client, [await user_id_of(client, tokens)], data={"circle_name": "After Evil"})
    await mail.wait_for_text(email, "After Evil", within=20)
    assert not [m for m in mail.to(email) if "evil.example" in m.body]


async def test_unknown_templates_are_still_delivered_plainly(client, mail):
    email, tokens = await verified_user(client, mail)
    await request_notification(
        client,
        [await user_id_of(client, tokens)],
        template="circle.new_feature",
        data={"circle_name": "Plain $display_name"},
    )
    found = await mail.wait_for_text(email, "Plain $display_name", within=20)
    assert found.subject == "Circle new feature"


async def test_sent_messages_keep_no_body(client, mail):
    email, _ = await signed_up(client)
    await mail.wait_for_text(email, "verification code is")
    await asyncio.sleep(0.3)
    async with client.app.state.db.session() as session:
        rows = (
            await session.execute(
                text("SELECT body, sent_at FROM auth.outbound_messages WHERE recipient = :e"), {"e": email}
            )
        ).all()
    assert rows and all(body is None and sent_at is not None for body, sent_at in rows)


async def test_email_queued_while_smtp_is_down_is_sent_later(app_client, mail):
    from mcm_devstack.engines import free_port

    dead_port = free_port()
    async with app_client(smtp_port=dead_port) as client:
        email, _ = await signed_up(client)
        await asyncio.sleep(0.5)
        async with client.app.state.db.session() as session:
            attempts = await session.scalar(
                text("SELECT attempts FROM auth.outbound_messages WHERE recipient = :e"), {"e": email}
            )
            await session.execute(
                text("UPDATE auth.outbound_messages SET next_attempt_at = now() WHERE recipient = :e"), {"e": email}
            )
            await session.commit()
        assert attempts >= 1
    async with app_client() as client:  # SMTP back: the queued message goes out
        await mail.wait_for_text(email, "verification code is", within=20)


async def test_development_without_smtp_logs_messages_instead_of_queueing_forever(app_client):
    async with app_client(environment="development", smtp_host=None) as client:
        email, _ = await signed_up(client)
        for _ in range(100):
            async with client.app.state.db.session() as session:
                sent = await session.scalar(
                    text("SELECT sent_at FROM auth.outbound_messages WHERE recipient = :e"), {"e": email}
                )
            if sent is not None:
                break
            await asyncio.sleep(0.05)
    assert sent is not None  # written to the service log (see delivery.py), not stuck in the queue


async def test_unusable_requests_are_skipped_and_the_consumer_keeps_going(client, mail):
    from mcm_auth.notifications.schemas import NotificationRequested
    from mcm_auth.notifications.service import deliver

    email, tokens = await verified_user(client, mail)
    redis = client.app.state.redis
    broken = Envelope(
        id=uuid.uuid4(),
        type="notification.requested",
        occurred_at=datetime.now(UTC),
        producer="circles",
        payload={"recipient_user_ids": "not-a-list", "template": ""},
    )
    await redis.xadd(stream_for("circles"), broken.to_fields())
    await redis.xadd(stream_for("circles"), {"type": "notification.requested", "envelope": "{not json"})
    await request_notification(client, [await user_id_of(client, tokens)], data={"circle_name": "Still Working"})
    await mail.wait_for_text(email, "Still Working", within=20)
    # A disabled recipient gets nothing.
    user_id = await user_id_of(client, tokens)
    async with client.app.state.db.session() as session:
        await session.execute(text("UPDATE auth.users SET disabled_at = now() WHERE id = :i"), {"i": user_id})
        queued = await deliver(
            session,
            client.app.state.runtime.outbound,
            NotificationRequested(recipient_user_ids=[user_id], template="generic", data={}),
        )
        await session.rollback()
    assert queued == 0


async def test_messaging_asks_and_its_meeting_kinds_have_their_own_wording(client, mail):
    """Messaging's notification centre is a default source; its meeting reminder reads as one
    (not the generic listing), with where the circle meets."""
    email, tokens = await verified_user(client, mail)
    data = {
        "circle_name": "Oak Circle",
        "local_starts_at": "Monday 29 March 2027, 19:00 (Europe/Berlin)",
        "in": "24 hours",
        "where": "Address: Hauptstr. 1, Berlin",
        "meeting_id": str(uuid.uuid4()),
    }
    await request_notification(
        client, [await user_id_of(client, tokens)], template="meeting_reminder", data=data, producer="messaging"
    )
    found = await mail.wait_for_text(email, "Oak Circle meets in 24 hours", within=20)
    assert found.subject == "Reminder: Oak Circle, Monday 29 March 2027, 19:00 (Europe/Berlin)"
    assert "Address: Hauptstr. 1, Berlin" in found.body and "$" not in found.body and "meeting id" not in found.body


def test_every_notification_kind_renders_without_leftover_placeholders():
    from mcm_auth.outbox.templates import TEMPLATES, render_email, render_sms

    samples = {
        "circle.meeting_scheduled": {"circle_name": "Oak", "when": "Monday 4 March 2030, 19:30", "where": ""},
        "circle.meeting_rescheduled": {
            "circle_name": "Oak",
            "when": "Tuesday 5 March 2030, 19:30",
            "previous_when": "Monday 4 March 2030, 19:30",
            "where": "Video link: https://meet.example/oak",
        },
        "circle.meeting_cancelled": {"circle_name": "Oak", "when": "Monday 4 March 2030, 19:30", "reason": "Holiday"},
        "meeting_reminder": {"circle_name": "Oak", "local_starts_at": "Monday", "in": "2 hours", "where": ""},
        "payment_failed": {"amount": "25.00 EUR"},
        "dues_overdue": {"amount": "25.00 EUR"},
        "role_granted": {"roles": "facilitator"},
    }
    for name, data in samples.items():
        assert name in TEMPLATES
        subject, body = render_email(name, {**data, "display_name": "Joe"})
        assert "$" not in subject + body, name
        if TEMPLATES[name].sms is not None:
            assert "$" not in render_sms(name, {**data, "display_name": "Joe"}), name
