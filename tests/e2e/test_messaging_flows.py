"""Messaging end to end on the real processes, through the gateway: accounts (auth) and a
membership (circles) reach messaging over the bus, the circle's thread opens to its member, a
message reaches both of his devices over WebSockets relayed by the gateway, a reconnecting device
resumes what it missed, and logging out one session closes that session's socket only."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
from e2ekit import Person, eventually, log_in, sign_in, sign_up
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from mcm_devstack.platform import Platform

PLATFORM_ENV = {"RATE_LIMIT_CREDENTIAL_PER_MINUTE": "1000"}
# Starting five processes on a busy 2-core machine alone took over 100 s in a run.
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


def open_socket(platform: Platform, api: httpx.Client, token: str, sockets: ExitStack) -> ClientConnection:
    """A ticket over HTTPS, then the socket through the gateway, authenticated by its first frame."""
    ticket = ok(api.post("/api/v1/realtime/tickets", headers={"Authorization": f"Bearer {token}"}))["ticket"]
    url = platform.url("gateway").replace("http://", "ws://") + "/api/v1/realtime"
    socket = sockets.enter_context(connect(url, open_timeout=10))
    socket.send(json.dumps({"type": "auth", "ticket": ticket}))
    socket.send(json.dumps({"type": "ping"}))
    assert json.loads(socket.recv(timeout=10)) == {"type": "pong"}
    return socket


def next_message(socket: ClientConnection) -> dict[str, Any]:
    while True:
        frame = json.loads(socket.recv(timeout=10))
        if frame["type"] == "message":
            return frame


def test_a_circle_thread_message_reaches_both_devices_and_logout_closes_one(
    platform: Platform, api: httpx.Client, admin_credentials: tuple[str, str]
):
    with ExitStack() as sockets:
        _flow(platform, api, admin_credentials, sockets)


def _flow(platform: Platform, api: httpx.Client, admin_credentials: tuple[str, str], sockets: ExitStack) -> None:
    admin = sign_in(api, *admin_credentials)
    circle = ok(
        api.post(
            "/api/v1/circles",
            headers=admin.auth,
            json={
                "name": f"Thursday circle {uuid.uuid4().hex[:6]}",
                "schedule": {"weekday": "thursday", "time": "19:30", "timezone": "Europe/Berlin"},
                "location": {"city": "Berlin"},
            },
        ),
        201,
    )
    member = sign_up(api, "Jon")
    ok(api.post(f"/api/v1/circles/{circle['id']}/join", headers=member.auth), 201)

    # user.registered (auth) and membership.started (circles) reach messaging's read model.
    def thread_for(person: Person) -> httpx.Response:
        return api.get("/api/v1/conversations", headers=person.auth, params={"circle_id": circle["id"]})

    found = eventually(lambda: thread_for(member), lambda r: r.status_code == 200, what="the circle thread")
    thread = found.json()["items"][0]
    eventually(lambda: thread_for(admin), lambda r: r.status_code == 200, what="the facilitator's thread")
    outsider = sign_up(api, "Ari")
    assert thread_for(outsider).status_code == 404

    phone_token = member.token
    laptop_token = log_in(api, member.email)  # a second session: another device
    phone, laptop = open_socket(platform, api, phone_token, sockets), open_socket(platform, api, laptop_token, sockets)
    sent = ok(
        api.post(f"/api/v1/conversations/{thread['id']}/messages", headers=admin.auth, json={"body": "Welcome, Jon"}),
        201,
    )
    on_phone, on_laptop = next_message(phone), next_message(laptop)
    assert on_phone["id"] == on_laptop["id"] and on_phone["data"]["id"] == sent["id"]

    # The laptop drops off; what it missed comes back after the last id it saw.
    laptop.close()
    ok(api.post(f"/api/v1/conversations/{thread['id']}/messages", headers=admin.auth, json={"body": "See you"}), 201)
    assert next_message(phone)["data"]["body"] == "See you"
    laptop = open_socket(platform, api, laptop_token, sockets)
    laptop.send(json.dumps({"type": "resume", "after": on_laptop["id"]}))
    assert next_message(laptop)["data"]["body"] == "See you"

    # Logging out the phone's session closes the phone's socket, and only that one.
    ok(api.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {phone_token}"}), 204)
    started = time.monotonic()
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            phone.recv(timeout=10)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert time.monotonic() - started < 3
    laptop.send(json.dumps({"type": "ping"}))
    assert json.loads(laptop.recv(timeout=10)) == {"type": "pong"}
    laptop.close()
