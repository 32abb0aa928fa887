"""One socket's life (ARCHITECTURE §11, "Messaging"): origin check, the auth frame within
`REALTIME_AUTH_TIMEOUT_SECONDS`, the ticket, the per-user connection limit, then frames pushed
from the user's feed until the client leaves, falls behind, or his session is revoked.

Close codes: 4400 a frame the server cannot read; 4401 no valid ticket, or the session was
revoked; 4403 origin not allowed (before the handshake is accepted: HTTP 403); 4408 no auth frame
in time; 4429 too many sockets for this user; 4008 the client does not read fast enough (its send
queue, `REALTIME_SEND_QUEUE`, stayed full for `REALTIME_SLOW_CONSUMER_SECONDS`; meanwhile the hub
holds its frames back in the feed rather than in memory); 1001 the server is shutting down.

Client frames after auth: `{"type": "resume", "after": <id>}` replays the feed after that id;
`{"type": "ping"}` is answered `{"type": "pong"}`; `{"type": "typing", "conversation_id": …}`
(at most one every 2 s counts) tells the others in that conversation. Heartbeats are also WebSocket pings, which
uvicorn sends (every 20 s, closing after 20 s without a pong).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from starlette.websockets import WebSocket, WebSocketDisconnect

from mcm_messaging.caller import Caller
from mcm_messaging.conversations import service as conversations
from mcm_messaging.delivery.feeds import parse_id
from mcm_messaging.delivery.hub import Subscriber
from mcm_messaging.delivery.tickets import TicketHolder
from mcm_messaging.runtime import MessagingRuntime, Realtime
from mcm_shared.errors import ProblemError

logger = logging.getLogger("mcm.messaging.realtime")

BAD_FRAME, UNAUTHORISED, FORBIDDEN_ORIGIN, AUTH_TIMEOUT, TOO_MANY, SLOW_CONSUMER = 4400, 4401, 4403, 4408, 4429, 4008
GOING_AWAY = 1001
TYPING_EVERY_SECONDS = 2.0


class Closed(Exception):
    def __init__(self, code: int, reason: str = "") -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def origin_allowed(runtime: MessagingRuntime, origin: str | None) -> bool:
    """Browsers send Origin: it must be one of `CORS_ORIGINS` (any, outside production, while the
    list is empty). Clients without one (apps, scripts) hold a ticket like everyone else."""
    if origin is None:
        return True
    allowed = runtime.settings.cors_origins
    if not allowed:
        return not runtime.settings.is_production
    return origin in allowed


def _frame(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError:
        raise Closed(BAD_FRAME, "not JSON") from None
    if not isinstance(value, dict):
        raise Closed(BAD_FRAME, "not an object")
    return value


async def _authenticate(websocket: WebSocket, runtime: MessagingRuntime, realtime: Realtime) -> TicketHolder:
    try:
        raw = await asyncio.wait_for(websocket.receive_text(), runtime.settings.realtime_auth_timeout_seconds)
    except TimeoutError:
        raise Closed(AUTH_TIMEOUT, "no auth frame in time") from None
    frame = _frame(raw)
    ticket = frame.get("ticket")
    if frame.get("type") != "auth" or not isinstance(ticket, str):
        raise Closed(UNAUTHORISED, "the first frame must be auth")
    holder = await realtime.tickets.redeem(ticket)
    if holder is None or _revoked(runtime, holder):
        raise Closed(UNAUTHORISED, "ticket not valid")
    return holder


def _revoked(runtime: MessagingRuntime, holder: TicketHolder) -> bool:
    if runtime.revocations is None or holder.session_id is None:
        return False
    return bool(runtime.revocations.is_session_revoked(holder.session_id))


async def _typing(runtime: MessagingRuntime, holder: TicketHolder, conversation_id: Any) -> None:
    """`{"type": "typing", "conversation_id": …}`: the others in that conversation get a typing
    frame, if he may write there; anything else is ignored (no answer tells what exists)."""
    try:
        conversation = uuid.UUID(str(conversation_id))
    except ValueError:
        return
    caller = Caller(user_id=holder.user_id, roles=holder.roles)
    async with runtime.sessionmaker() as session:
        with contextlib.suppress(ProblemError):
            await conversations.typing(session, runtime, caller, conversation)


async def run(websocket: WebSocket, runtime: MessagingRuntime, realtime: Realtime) -> None:
    if not origin_allowed(runtime, websocket.headers.get("origin")):
        await websocket.close(code=FORBIDDEN_ORIGIN)
        return
    await websocket.accept()
    connection_id = uuid.uuid4().hex
    holder: TicketHolder | None = None
    subscriber: Subscriber | None = None
    try:
        holder = await _authenticate(websocket, runtime, realtime)
        if not await realtime.limit.claim(holder.user_id, connection_id):
            holder = None  # nothing to release
            raise Closed(TOO_MANY, "too many sockets for this user")
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=runtime.settings.realtime_send_queue)

        def offer(frame: dict[str, Any]) -> bool:
            try:
                queue.put_nowait(frame)
            except asyncio.QueueFull:
                return False
            return True

        cursor = await realtime.feeds.tail(holder.user_id)
        subscriber = Subscriber(str(holder.user_id), cursor, offer, lambda: not queue.full())
        realtime.hub.subscribe(subscriber)
        await _serve(websocket, runtime, realtime, holder, connection_id, subscriber, queue)
    except Closed as closed:
        with contextlib.suppress(Exception):
            await websocket.close(code=closed.code, reason=closed.reason)
    except WebSocketDisconnect:
        pass
    finally:
        if subscriber is not None:
            realtime.hub.unsubscribe(subscriber)
        if holder is not None:
            with contextlib.suppress(Exception):
                await realtime.limit.release(holder.user_id, connection_id)


async def _serve(
    websocket: WebSocket,
    runtime: MessagingRuntime,
    realtime: Realtime,
    holder: TicketHolder,
    connection_id: str,
    subscriber: Subscriber,
    queue: asyncio.Queue[dict[str, Any]],
) -> None:
    last_typing = [float("-inf")]

    async def send() -> None:
        while True:
            await websocket.send_text(json.dumps(await queue.get(), separators=(",", ":"), default=str))

    async def receive() -> None:
        while True:
            frame = _frame(await websocket.receive_text())
            if frame.get("type") == "resume":
                after = frame.get("after")
                try:
                    parse_id(str(after))
                except ValueError:
                    raise Closed(BAD_FRAME, "resume needs the id of a frame") from None
                subscriber.resume(str(after))
            elif frame.get("type") == "ping":
                await websocket.send_text('{"type":"pong"}')
            elif frame.get("type") == "typing":
                now = asyncio.get_running_loop().time()
                if now - last_typing[0] >= TYPING_EVERY_SECONDS:  # a burst of keystrokes is one frame
                    last_typing[0] = now
                    await _typing(runtime, holder, frame.get("conversation_id"))

    async def watch() -> None:
        """Ends the socket when its session is revoked (checked often: revocation must bite
        within a second) or its send queue has stayed full for `REALTIME_SLOW_CONSUMER_SECONDS`;
        renews the connection's claim."""
        renew_every = max(1.0, realtime.limit.claim_seconds / 3)
        since_renewal, full_for = 0.0, 0.0
        while True:
            if _revoked(runtime, holder):
                raise Closed(UNAUTHORISED, "session revoked")
            full_for = full_for + 0.25 if queue.full() else 0.0
            if full_for > runtime.settings.realtime_slow_consumer_seconds:
                raise Closed(SLOW_CONSUMER, "too slow")
            await asyncio.sleep(0.25)
            since_renewal += 0.25
            if since_renewal >= renew_every:
                since_renewal = 0.0
                await realtime.limit.renew(holder.user_id, connection_id)

    tasks = [asyncio.create_task(work()) for work in (send, receive, watch)]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    for task in done:
        task.result()  # re-raises Closed or WebSocketDisconnect
