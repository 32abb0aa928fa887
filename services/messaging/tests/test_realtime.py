"""Real time: tickets (single use, short-lived, bound to a session), the socket's auth frame,
frames pushed to every device of a user, resume after a reconnect, revocation, origin and
per-user limits. Real uvicorn, real Redis, the `websockets` client."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from mcm_shared.revocation import publish_revocation

CONVERSATIONS = "/api/v1/conversations"
TICKETS = "/api/v1/realtime/tickets"


def socket_url(harness) -> str:
    return harness.served.url.replace("http://", "ws://") + "/api/v1/realtime"


async def ticket(harness, user_id, *, session_id=None, roles=("member",)) -> str:
    headers = harness.issuer.headers(user_id, roles=roles, session_id=session_id)
    response = await harness.http.post(TICKETS, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["expires_in"] > 0
    return body["ticket"]


async def open_socket(harness, user_id, **kwargs) -> ClientConnection:
    socket = await connect(socket_url(harness))
    await socket.send(json.dumps({"type": "auth", "ticket": await ticket(harness, user_id, **kwargs)}))
    await socket.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(socket.recv(), 5)) == {"type": "pong"}  # authenticated
    return socket


async def next_frame(socket: ClientConnection, kind: str = "message", timeout: float = 5.0) -> dict:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame


async def close_code(socket: ClientConnection, timeout: float = 5.0) -> int:  # noqa: ASYNC109
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            await asyncio.wait_for(socket.recv(), timeout)
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code


async def direct(harness):
    support, member = await harness.user("support"), await harness.user()
    made = await harness.post(CONVERSATIONS, support, {"kind": "direct", "user_id": str(member)}, "support")
    return made.json()["id"], support, member


async def say(harness, conversation_id, user, body, *roles) -> dict:
    sent = await harness.post(f"{CONVERSATIONS}/{conversation_id}/messages", user, {"body": body}, *roles)
    assert sent.status_code == 201, sent.text
    return sent.json()


async def test_a_message_reaches_every_connected_device_of_the_recipient(harness):
    conversation_id, support, member = await direct(harness)
    phone, laptop = await open_socket(harness, member), await open_socket(harness, member)
    sent = await say(harness, conversation_id, support, "hello", "support")
    on_phone, on_laptop = await next_frame(phone), await next_frame(laptop)
    assert on_phone == on_laptop
    assert on_phone["data"]["id"] == sent["id"] and on_phone["data"]["body"] == "hello"
    assert on_phone["data"]["deleted"] is False and on_phone["id"]
    # Read receipts go out the same way.
    await harness.post(f"{CONVERSATIONS}/{conversation_id}/read", member, {"up_to": sent["id"]})
    receipt = await next_frame(laptop, "receipt")
    assert receipt["data"]["user_id"] == str(member) and receipt["data"]["up_to"] == sent["id"]
    await phone.close()
    await laptop.close()


async def test_a_ticket_opens_one_socket_only(harness):
    member = await harness.user()
    spent = await ticket(harness, member)
    first = await connect(socket_url(harness))
    await first.send(json.dumps({"type": "auth", "ticket": spent}))
    await first.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(first.recv(), 5))["type"] == "pong"
    second = await connect(socket_url(harness))
    await second.send(json.dumps({"type": "auth", "ticket": spent}))
    assert await close_code(second) == 4401
    await first.close()


@pytest.mark.settings(realtime_ticket_ttl_seconds=1)
async def test_a_ticket_expires(harness):
    member = await harness.user()
    stale = await ticket(harness, member)
    await asyncio.sleep(1.5)
    socket = await connect(socket_url(harness))
    await socket.send(json.dumps({"type": "auth", "ticket": stale}))
    assert await close_code(socket) == 4401


async def test_the_first_frame_must_be_auth_with_a_real_ticket(harness):
    for first in ({"type": "resume", "after": "0-0"}, {"type": "auth", "ticket": "made-up"}, {"type": "auth"}):
        socket = await connect(socket_url(harness))
        await socket.send(json.dumps(first))
        assert await close_code(socket) == 4401
    socket = await connect(socket_url(harness))
    await socket.send("not json")
    assert await close_code(socket) == 4400


@pytest.mark.settings(realtime_auth_timeout_seconds=0.5)
async def test_a_socket_without_an_auth_frame_is_closed(harness):
    socket = await connect(socket_url(harness))
    started = time.monotonic()
    assert await close_code(socket) == 4408
    assert time.monotonic() - started < 3


async def test_a_reconnecting_client_resumes_after_the_last_frame_it_saw(harness):
    conversation_id, support, member = await direct(harness)
    socket = await open_socket(harness, member)
    await say(harness, conversation_id, support, "one", "support")
    last_seen = (await next_frame(socket))["id"]
    await socket.close()
    await say(harness, conversation_id, support, "two", "support")
    await say(harness, conversation_id, support, "three", "support")
    again = await open_socket(harness, member)
    await again.send(json.dumps({"type": "resume", "after": last_seen}))
    replayed = [(await next_frame(again))["data"]["body"] for _ in range(2)]
    assert replayed == ["two", "three"]
    await say(harness, conversation_id, support, "four", "support")
    assert (await next_frame(again))["data"]["body"] == "four"
    await again.send(json.dumps({"type": "resume", "after": "yesterday"}))
    assert await close_code(again) == 4400


async def test_a_revoked_session_closes_its_socket(harness):
    member, session_id = await harness.user(), uuid.uuid4()
    socket = await open_socket(harness, member, session_id=session_id)
    other = await open_socket(harness, member)  # another session of his stays open
    await publish_revocation(harness.redis, session_id, time.time() + 900)
    started = time.monotonic()
    assert await close_code(socket) == 4401
    assert time.monotonic() - started < 2
    await other.send(json.dumps({"type": "ping"}))
    assert json.loads(await asyncio.wait_for(other.recv(), 5)) == {"type": "pong"}
    await other.close()


@pytest.mark.settings(realtime_connections_per_user=2)
async def test_one_user_holds_a_limited_number_of_sockets(harness):
    member = await harness.user()
    kept = [await open_socket(harness, member) for _ in range(2)]
    third = await connect(socket_url(harness))
    await third.send(json.dumps({"type": "auth", "ticket": await ticket(harness, member)}))
    assert await close_code(third) == 4429
    await kept[0].close()
    await asyncio.sleep(0.2)
    replacement = await open_socket(harness, member)
    for socket in (kept[1], replacement):
        await socket.close()


@pytest.mark.settings(cors_origins=["https://app.example"])
async def test_browsers_connect_only_from_allowed_origins(harness):
    with pytest.raises(InvalidStatus) as refused:
        await connect(socket_url(harness), origin="https://evil.example")
    assert refused.value.response.status_code == 403
    allowed = await connect(socket_url(harness), origin="https://app.example")
    await allowed.close()


async def test_tickets_need_a_signed_in_person(harness):
    assert (await harness.http.post(TICKETS)).status_code == 401
    service = harness.issuer.headers("svc:circles", roles=())
    assert (await harness.http.post(TICKETS, headers=service)).status_code == 403


async def test_the_command_line_client_lists_connects_sends_and_prints_frames(harness):
    import io

    from mcm_devstack.chat import run

    conversation_id, support, member = await direct(harness)
    await say(harness, conversation_id, support, "before", "support")
    out = io.StringIO()
    token = harness.issuer.token(member, roles=("member",))
    received = await asyncio.wait_for(
        run(harness.served.url, token, say=(conversation_id, "hello from the terminal"), frames=1, out=out), 20
    )
    lines = out.getvalue().splitlines()
    assert received == 1
    assert any(conversation_id in line and "unread   1" in line for line in lines), lines
    assert "# sent: 201" in lines
    frame = json.loads(lines[-1])
    assert frame["type"] == "message" and frame["data"]["body"] == "hello from the terminal"


async def test_typing_reaches_the_others_in_the_conversation_only(harness):
    conversation_id, support, member = await direct(harness)
    outsider = await harness.user()
    typist = await open_socket(harness, member)
    listener = await open_socket(harness, support, roles=("support",))
    stranger = await open_socket(harness, outsider)
    await typist.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))
    frame = await next_frame(listener, "typing")
    assert frame["data"] == {"conversation_id": conversation_id, "user_id": str(member)}
    # The outsider typing "into" it tells nobody, and nobody tells the outsider.
    await stranger.send(json.dumps({"type": "typing", "conversation_id": conversation_id}))
    await stranger.send(json.dumps({"type": "typing", "conversation_id": "nonsense"}))
    await asyncio.sleep(0.5)
    await say(harness, conversation_id, support, "after typing", "support")
    seen = []
    while not seen or seen[-1]["type"] != "message":
        seen.append(json.loads(await asyncio.wait_for(listener.recv(), 5)))
    assert [f["type"] for f in seen] == ["message"], seen  # the outsider's typing reached nobody
    with pytest.raises(TimeoutError):
        await next_frame(stranger, "typing", timeout=1.0)
    for socket in (typist, listener, stranger):
        await socket.close()


async def feed(harness, user_id, count: int, size: int = 10) -> None:
    """Frames straight into the user's feed, as a push writes them."""
    frame = json.dumps({"type": "message", "data": {"body": "x" * size}})
    async with harness.redis.pipeline(transaction=False) as pipe:
        for _ in range(count):
            pipe.xadd(f"messaging:feed:{user_id}", {"frame": frame})
        await pipe.execute()


@pytest.mark.settings(realtime_send_queue=4)
async def test_a_resume_longer_than_the_send_queue_arrives_whole_and_in_order(harness):
    member = await harness.user()
    await feed(harness, member, 1)
    first = (await harness.redis.xrange(f"messaging:feed:{member}"))[0][0].decode()
    await feed(harness, member, 40)
    socket = await open_socket(harness, member)
    await socket.send(json.dumps({"type": "resume", "after": first}))
    ids = [(await next_frame(socket))["id"] for _ in range(40)]
    assert len(set(ids)) == 40 and ids == sorted(ids, key=lambda i: tuple(map(int, i.split("-"))))
    await socket.close()
