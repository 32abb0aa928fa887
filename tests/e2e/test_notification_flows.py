"""The notification centre end to end on the real processes, through the gateway: a facilitator
moves a meeting (circles publishes `meeting.rescheduled`, nothing addressed to auth), messaging
records it in the member's inbox (`GET /api/v1/notifications`), and since he does not read it
within NOTIFICATION_EMAIL_DELAY_SECONDS it asks auth, which emails him worded by its template
with the meeting's local time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from e2ekit import eventually, mail_to, sign_in, sign_up, verify_email

from mcm_devstack.platform import Platform

PLATFORM_ENV = {"RATE_LIMIT_CREDENTIAL_PER_MINUTE": "1000", "NOTIFICATION_EMAIL_DELAY_SECONDS": "2"}
pytestmark = pytest.mark.timeout(400)


@pytest.fixture(scope="module")
def api(platform: Platform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.url("gateway"), timeout=20) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url.path}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


def test_a_moved_meeting_reaches_the_inbox_then_the_email_when_unread(
    platform: Platform, api: httpx.Client, admin_credentials: tuple[str, str]
):
    admin = sign_in(api, *admin_credentials)
    name = f"Oak {uuid.uuid4().hex[:6]}"
    circle = ok(
        api.post(
            "/api/v1/circles",
            headers=admin.auth,
            json={
                "name": name,
                "schedule": {"weekday": "thursday", "time": "19:30", "timezone": "Europe/Berlin"},
                "location": {"city": "Berlin"},
            },
        ),
        201,
    )
    member = sign_up(api, "Jon")
    verify_email(api, platform, member)
    ok(api.post(f"/api/v1/circles/{circle['id']}/join", headers=member.auth), 201)
    # membership.started has reached messaging's read model once his circle thread opens.
    eventually(
        lambda: api.get("/api/v1/conversations", headers=member.auth, params={"circle_id": circle["id"]}),
        lambda r: r.status_code == 200,
        what="the member in messaging's read model",
    )
    base = f"/api/v1/circles/{circle['id']}/meetings"
    [meeting] = ok(api.post(base, headers=admin.auth, json={"starts_at": "2031-01-02T18:30:00Z"}), 201)["items"]
    ok(api.patch(f"{base}/{meeting['id']}", headers=admin.auth, json={"starts_at": "2031-01-03T18:30:00Z"}))

    inbox = eventually(
        lambda: ok(api.get("/api/v1/notifications", headers=member.auth)),
        lambda page: any(item["kind"] == "meeting_rescheduled" for item in page["items"]),
        what="the moved meeting in the inbox",
    )
    moved = next(item for item in inbox["items"] if item["kind"] == "meeting_rescheduled")
    assert moved["link"] == f"/circles/{circle['id']}" and moved["read_at"] is None
    assert "Friday 3 January 2031, 19:30 (Europe/Berlin)" in moved["body"]
    assert ok(api.get("/api/v1/notifications", headers=admin.auth))["items"] == []  # the actor is not told

    mail = mail_to(platform, member.email, f"Meeting moved: {name}")
    assert "Friday 3 January 2031, 19:30 (Europe/Berlin)" in mail["body"]
    assert "Thursday 2 January 2031, 19:30" in mail["body"]
    read = ok(api.post("/api/v1/notifications/read", headers=member.auth, json={"all": True}))
    assert read["unread_count"] == 0
