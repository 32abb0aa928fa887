"""Conversation and message use cases: who may read and write where, starting conversations,
threads, sending, editing, deleting and reading messages. Each use case commits once at its end.

Rules (docs/messaging.md):
- direct: a member and the facilitators of his current circles (either side may start it); staff
  (ptm, support, leadership, admin) and anyone. One conversation per pair.
- circle thread: the circle's current members and facilitators. Event thread: its confirmed
  registrants and staff. Created on first use. Leaving ends access at once (404 afterwards).
- announcement: leadership and admins to everyone or a role; a ptm (leadership, admin) to an
  event's registrants; a facilitator (leadership, admin) to his circle. Recipients read, only
  announcers write.
A conversation the caller may not read is 404 everywhere; one he reads but may not write is 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_messaging.audience import service as audience
from mcm_messaging.caller import BROADCAST_ROLES, EVENT_ROLES, STAFF_ROLES, Caller
from mcm_messaging.conversations import schemas
from mcm_messaging.conversations.errors import (
    CannotAnnounce,
    CannotStartDirect,
    ConversationNotFound,
    EditWindowClosed,
    InvalidBody,
    MessageNotFound,
    NotTheAuthor,
    ReadOnlyConversation,
    UserNotReachable,
)
from mcm_messaging.conversations.models import Conversation, Message
from mcm_messaging.conversations.repository import ConversationRepository, Reader
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.pagination import PageParams, make_cursor, parse_datetime, read_cursor

ACTIVITY_SORT = "activity"
CREATED_SORT = "created"


@dataclass(frozen=True, slots=True)
class Access:
    read: bool
    write: bool


NO_ACCESS = Access(read=False, write=False)
FULL_ACCESS = Access(read=True, write=True)


# -- access ------------------------------------------------------------------------------------
async def _may_announce(session: AsyncSession, caller: Caller, audience_: schemas.Audience) -> bool:
    if caller.has_any(BROADCAST_ROLES):
        return True
    if isinstance(audience_, schemas.EventAudience):
        return caller.has_any(EVENT_ROLES)
    if isinstance(audience_, schemas.CircleAudience):
        return await audience.circle_role(session, audience_.circle_id, caller.user_id) == "facilitator"
    return False


async def _hears(session: AsyncSession, caller: Caller, audience_: schemas.Audience) -> bool:
    if isinstance(audience_, schemas.EveryoneAudience):
        return True
    if isinstance(audience_, schemas.RoleAudience):
        return audience_.role in caller.roles
    if isinstance(audience_, schemas.CircleAudience):
        return await audience.circle_role(session, audience_.circle_id, caller.user_id) is not None
    return await audience.is_registrant(session, audience_.event_id, caller.user_id)


def audience_of(conversation: Conversation) -> schemas.Audience | None:
    if conversation.kind != "announcement":
        return None
    if conversation.scope == "everyone":
        return schemas.EveryoneAudience(scope="everyone")
    if conversation.scope == "role":
        return schemas.RoleAudience(scope="role", role=conversation.role)
    if conversation.scope == "circle":
        assert conversation.circle_id is not None  # noqa: S101 (CHECK circle_scope)
        return schemas.CircleAudience(scope="circle", circle_id=conversation.circle_id)
    assert conversation.event_id is not None  # noqa: S101 (CHECK event_scope)
    return schemas.EventAudience(scope="event", event_id=conversation.event_id)


async def access_to(session: AsyncSession, caller: Caller, conversation: Conversation) -> Access:
    if conversation.kind == "direct":
        member = await ConversationRepository(session).is_participant(conversation.id, caller.user_id)
        return FULL_ACCESS if member else NO_ACCESS
    if conversation.kind == "circle":
        assert conversation.circle_id is not None  # noqa: S101 (CHECK circle_thread)
        role = await audience.circle_role(session, conversation.circle_id, caller.user_id)
        return FULL_ACCESS if role is not None else NO_ACCESS
    if conversation.kind == "event":
        assert conversation.event_id is not None  # noqa: S101 (CHECK event_thread)
        allowed = caller.is_staff or await audience.is_registrant(session, conversation.event_id, caller.user_id)
        return FULL_ACCESS if allowed else NO_ACCESS
    heard = audience_of(conversation)
    assert heard is not None  # noqa: S101 (an announcement has an audience)
    if conversation.created_by == caller.user_id or await _may_announce(session, caller, heard):
        return FULL_ACCESS
    return Access(read=True, write=False) if await _hears(session, caller, heard) else NO_ACCESS


async def _readable(session: AsyncSession, caller: Caller, conversation_id: uuid.UUID) -> tuple[Conversation, Access]:
    conversation = await ConversationRepository(session).get(conversation_id)
    if conversation is None:
        raise ConversationNotFound()
    access = await access_to(session, caller, conversation)
    if not access.read:
        raise ConversationNotFound()
    return conversation, access


# -- views -------------------------------------------------------------------------------------
def message_out(message: Message) -> schemas.MessageOut:
    return schemas.MessageOut(
        id=message.id,
        conversation_id=message.conversation_id,
        author_id=message.author_id,
        body=message.body,
        created_at=message.created_at,
        edited_at=message.edited_at,
    )


async def _views(
    session: AsyncSession, caller: Caller, conversations: Sequence[Conversation], access: dict[uuid.UUID, Access]
) -> list[schemas.ConversationOut]:
    repository = ConversationRepository(session)
    ids = [conversation.id for conversation in conversations]
    last = await repository.last_messages(ids)
    unread = await repository.unread_counts(caller.user_id, ids)
    views = []
    for conversation in conversations:
        last_message = last.get(conversation.id)
        views.append(
            schemas.ConversationOut(
                id=conversation.id,
                kind=conversation.kind,
                circle_id=conversation.circle_id,
                event_id=conversation.event_id,
                audience=audience_of(conversation),
                title=conversation.title,
                participants=(
                    sorted(await repository.participants(conversation.id)) if conversation.kind == "direct" else []
                ),
                created_by=conversation.created_by,
                can_write=access[conversation.id].write,
                created_at=conversation.created_at,
                activity_at=conversation.activity_at,
                last_message=message_out(last_message) if last_message else None,
                unread_count=unread.get(conversation.id, 0),
            )
        )
    return views


# -- conversations -----------------------------------------------------------------------------
async def list_mine(
    session: AsyncSession, caller: Caller, paging: PageParams
) -> tuple[list[schemas.ConversationOut], str | None]:
    """The caller's conversations, most recent activity first, each with its last message and his unread count."""
    belonging = await audience.belonging(session, caller.user_id)
    reader = Reader(
        user_id=caller.user_id, roles=caller.roles, circles=belonging.circles.keys(), events=belonging.events
    )
    after = read_cursor(paging.cursor, ACTIVITY_SORT, parse_datetime)
    rows = await ConversationRepository(session).visible_page(reader, paging.limit + 1, after)
    page = list(rows[: paging.limit])
    access = {conversation.id: await access_to(session, caller, conversation) for conversation in page}
    views = await _views(session, caller, page, access)
    cursor = None
    if len(rows) > paging.limit and page:
        cursor = make_cursor(ACTIVITY_SORT, page[-1].activity_at, page[-1].id)
    return views, cursor


async def get(session: AsyncSession, caller: Caller, conversation_id: uuid.UUID) -> schemas.ConversationOut:
    conversation, access = await _readable(session, caller, conversation_id)
    return (await _views(session, caller, [conversation], {conversation.id: access}))[0]


async def thread(
    session: AsyncSession,
    runtime: MessagingRuntime,
    caller: Caller,
    *,
    circle_id: uuid.UUID | None = None,
    event_id: uuid.UUID | None = None,
) -> schemas.ConversationOut:
    """The thread of a circle or an event, made on first use; 404 for anyone outside it."""
    now = runtime.now()
    values: dict[str, object] = {"id": uuid.uuid4(), "created_at": now, "activity_at": now}
    if circle_id is not None:
        allowed = await audience.circle_role(session, circle_id, caller.user_id) is not None
        values.update(kind="circle", circle_id=circle_id)
        key = Conversation.circle_id
    else:
        assert event_id is not None  # noqa: S101 (the router passes exactly one)
        allowed = caller.is_staff or await audience.is_registrant(session, event_id, caller.user_id)
        values.update(kind="event", event_id=event_id)
        key = Conversation.event_id
    if not allowed:
        raise ConversationNotFound()
    conversation = await ConversationRepository(session).ensure(values, key)
    await session.commit()
    return (await _views(session, caller, [conversation], {conversation.id: FULL_ACCESS}))[0]


async def start_direct(
    session: AsyncSession, runtime: MessagingRuntime, caller: Caller, data: schemas.StartDirect
) -> tuple[schemas.ConversationOut, bool]:
    """The one direct conversation of the pair (made now or earlier) and whether it is new."""
    if data.user_id == caller.user_id:
        raise InvalidBody("You cannot start a conversation with yourself.")
    other = await audience.reachable_user(session, data.user_id)
    if other is None:
        raise UserNotReachable()
    if not (caller.is_staff or not other.roles.isdisjoint(STAFF_ROLES)):
        mine = await audience.belonging(session, caller.user_id)
        theirs = await audience.belonging(session, other.user_id)
        shared = mine.circles.keys() & theirs.circles.keys()
        if not any(mine.facilitates(circle) or theirs.facilitates(circle) for circle in shared):
            raise CannotStartDirect()
    low, high = sorted((caller.user_id, other.user_id), key=str)
    now = runtime.now()
    repository = ConversationRepository(session)
    new_id = uuid.uuid4()
    conversation = await repository.ensure(
        {
            "id": new_id,
            "kind": "direct",
            "direct_key": f"{low}:{high}",
            "created_by": caller.user_id,
            "created_at": now,
            "activity_at": now,
        },
        Conversation.direct_key,
    )
    await repository.add_participants(conversation.id, [low, high])
    await session.commit()
    views = await _views(session, caller, [conversation], {conversation.id: FULL_ACCESS})
    return views[0], conversation.id == new_id


async def start_announcement(
    session: AsyncSession, runtime: MessagingRuntime, caller: Caller, data: schemas.StartAnnouncement
) -> schemas.ConversationOut:
    heard = data.audience
    if not await _may_announce(session, caller, heard):
        raise CannotAnnounce()
    now = runtime.now()
    conversation = await ConversationRepository(session).add(
        {
            "id": uuid.uuid4(),
            "kind": "announcement",
            "scope": heard.scope,
            "role": heard.role.value if isinstance(heard, schemas.RoleAudience) else None,
            "circle_id": heard.circle_id if isinstance(heard, schemas.CircleAudience) else None,
            "event_id": heard.event_id if isinstance(heard, schemas.EventAudience) else None,
            "title": data.title,
            "created_by": caller.user_id,
            "created_at": now,
            "activity_at": now,
        }
    )
    await session.commit()
    return (await _views(session, caller, [conversation], {conversation.id: FULL_ACCESS}))[0]


# -- real time ---------------------------------------------------------------------------------
async def _recipients(session: AsyncSession, conversation: Conversation) -> set[uuid.UUID]:
    """Whose devices hear of what happens in a conversation. Event staff who are not registrants
    are not enumerable here (docs/messaging.md) and see event threads over HTTP only."""
    if conversation.kind == "direct":
        return set(await ConversationRepository(session).participants(conversation.id))
    if conversation.kind == "circle" and conversation.circle_id is not None:
        return set(await audience.people_of_circle(session, conversation.circle_id))
    if conversation.kind == "event" and conversation.event_id is not None:
        return set(await audience.registrants_of(session, conversation.event_id))
    people: set[uuid.UUID] = {conversation.created_by} if conversation.created_by else set()
    if conversation.scope == "everyone":
        people |= set(await audience.active_users(session))
    elif conversation.scope == "role" and conversation.role:
        people |= set(await audience.active_users(session, conversation.role))
    elif conversation.scope == "circle" and conversation.circle_id is not None:
        people |= set(await audience.people_of_circle(session, conversation.circle_id))
    elif conversation.scope == "event" and conversation.event_id is not None:
        people |= set(await audience.registrants_of(session, conversation.event_id))
    return people


async def _push(
    session: AsyncSession,
    runtime: MessagingRuntime,
    conversation: Conversation,
    frame_type: str,
    data: dict[str, object],
) -> None:
    """After the commit: tell every device of everyone in the conversation (best effort; what a
    device misses it finds over HTTP)."""
    if runtime.realtime is None:
        return
    await runtime.realtime.feeds.push(await _recipients(session, conversation), frame_type, data)


def _message_frame(message: Message) -> dict[str, object]:
    return {**message_out(message).model_dump(mode="json"), "deleted": message.deleted_at is not None}


# -- messages ----------------------------------------------------------------------------------
def _checked_body(runtime: MessagingRuntime, body: str) -> str:
    limit = runtime.settings.message_max_length
    if not body.strip():
        raise InvalidBody("A message needs some text.", errors=[{"loc": ["body", "body"], "msg": "empty"}])
    if len(body) > limit:
        raise InvalidBody(
            f"A message holds at most {limit} characters.",
            errors=[{"loc": ["body", "body"], "msg": f"longer than {limit} characters"}],
        )
    return body


async def messages(
    session: AsyncSession, caller: Caller, conversation_id: uuid.UUID, paging: PageParams
) -> tuple[list[schemas.MessageOut], str | None]:
    """Newest first, `limit` at a time."""
    await _readable(session, caller, conversation_id)
    before = read_cursor(paging.cursor, CREATED_SORT, parse_datetime)
    rows = await ConversationRepository(session).message_page(conversation_id, paging.limit + 1, before)
    page = list(rows[: paging.limit])
    cursor = None
    if len(rows) > paging.limit and page:
        cursor = make_cursor(CREATED_SORT, page[-1].created_at, page[-1].id)
    return [message_out(message) for message in page], cursor


async def send(
    session: AsyncSession, runtime: MessagingRuntime, caller: Caller, conversation_id: uuid.UUID, body: str
) -> schemas.MessageOut:
    conversation, access = await _readable(session, caller, conversation_id)
    if not access.write:
        raise ReadOnlyConversation()
    text = _checked_body(runtime, body)
    now = runtime.now()
    repository = ConversationRepository(session)
    message = await repository.add_message(
        Message(id=uuid.uuid4(), conversation_id=conversation.id, author_id=caller.user_id, body=text, created_at=now)
    )
    await repository.touch(conversation.id, now)
    # The author has read what he wrote.
    await repository.mark_read(conversation.id, caller.user_id, message, now)
    await session.commit()
    await _push(session, runtime, conversation, "message", _message_frame(message))
    return message_out(message)


async def _own_recent_message(
    session: AsyncSession, runtime: MessagingRuntime, caller: Caller, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> tuple[Conversation, Message, datetime]:
    conversation, _ = await _readable(session, caller, conversation_id)
    message = await ConversationRepository(session).message(conversation_id, message_id, lock=True)
    if message is None:
        raise MessageNotFound()
    if message.author_id != caller.user_id:
        raise NotTheAuthor()
    now = runtime.now()
    if (now - message.created_at).total_seconds() > runtime.settings.message_edit_window_seconds:
        raise EditWindowClosed()
    return conversation, message, now


async def edit(
    session: AsyncSession,
    runtime: MessagingRuntime,
    caller: Caller,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    body: str,
) -> schemas.MessageOut:
    conversation, message, now = await _own_recent_message(session, runtime, caller, conversation_id, message_id)
    message.body = _checked_body(runtime, body)
    message.edited_at = now
    await session.commit()
    await _push(session, runtime, conversation, "message", _message_frame(message))
    return message_out(message)


async def delete(
    session: AsyncSession, runtime: MessagingRuntime, caller: Caller, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> None:
    conversation, message, now = await _own_recent_message(session, runtime, caller, conversation_id, message_id)
    message.body = ""
    message.deleted_at = now
    await session.commit()
    await _push(session, runtime, conversation, "message", _message_frame(message))


async def mark_read(
    session: AsyncSession, runtime: MessagingRuntime, caller: Caller, conversation_id: uuid.UUID, up_to: uuid.UUID
) -> schemas.ReadOut:
    """Everything up to `up_to` is read; a mark never moves back. Answers what is still unread."""
    conversation, _ = await _readable(session, caller, conversation_id)
    repository = ConversationRepository(session)
    message = await repository.message(conversation_id, up_to)
    if message is None:
        raise MessageNotFound()
    now = runtime.now()
    await repository.mark_read(conversation_id, caller.user_id, message, now)
    await session.commit()
    receipt = {"conversation_id": str(conversation_id), "user_id": str(caller.user_id), "up_to": str(up_to)}
    await _push(session, runtime, conversation, "receipt", {**receipt, "read_at": now.isoformat()})
    unread = await repository.unread_counts(caller.user_id, [conversation_id])
    return schemas.ReadOut(conversation_id=conversation_id, unread_count=unread.get(conversation_id, 0))


async def receipts(session: AsyncSession, caller: Caller, conversation_id: uuid.UUID) -> schemas.Receipts:
    """How far each reader has read (receipts per recipient)."""
    await _readable(session, caller, conversation_id)
    marks = await ConversationRepository(session).read_marks(conversation_id)
    return schemas.Receipts(
        items=[schemas.ReceiptOut(user_id=m.user_id, up_to=m.message_id, read_at=m.read_at) for m in marks]
    )


async def typing(session: AsyncSession, runtime: MessagingRuntime, caller: Caller, conversation_id: uuid.UUID) -> None:
    """Tell the others in a conversation he may write in that he is typing (nothing is stored)."""
    conversation, access = await _readable(session, caller, conversation_id)
    if not access.write or runtime.realtime is None:
        return
    others = await _recipients(session, conversation) - {caller.user_id}
    data = {"conversation_id": str(conversation_id), "user_id": str(caller.user_id)}
    await runtime.realtime.feeds.push(others, "typing", data)
