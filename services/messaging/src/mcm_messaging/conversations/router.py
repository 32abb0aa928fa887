"""HTTP for conversations and their messages (ARCHITECTURE §11, "Messaging")."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Body, Query, Response, status

from mcm_messaging.conversations import service
from mcm_messaging.conversations.schemas import (
    ConversationOut,
    MessageIn,
    MessageOut,
    ReadIn,
    ReadOut,
    Receipts,
    StartConversation,
    StartDirect,
)
from mcm_messaging.deps import CallerDep, ConversationID, MessageID, Paging, RuntimeDep
from mcm_shared.errors import Forbidden, InvalidInput, NotFound, problem_responses
from mcm_shared.pagination import Page
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/conversations", tags=["conversations"])


@router.get(
    "",
    summary="My conversations (unread counts, last message), or the thread of one circle or event",
    description=(
        "Without filters: every conversation I am in, most recent activity first. With `circle_id` or"
        " `event_id`: a one-item list holding that circle's or event's thread (made on first use), for its"
        " current members and facilitators, or its registrants and staff; 404 for anyone else."
    ),
    responses=problem_responses(NotFound, InvalidInput),
)
async def list_conversations(
    caller: CallerDep,
    runtime: RuntimeDep,
    session: SessionDep,
    paging: Paging,
    circle_id: Annotated[uuid.UUID | None, Query()] = None,
    event_id: Annotated[uuid.UUID | None, Query()] = None,
) -> Page[ConversationOut]:
    if circle_id is not None and event_id is not None:
        raise InvalidInput("Ask for the thread of a circle or of an event, not both.")
    if circle_id is not None or event_id is not None:
        found = await service.thread(session, runtime, caller, circle_id=circle_id, event_id=event_id)
        return Page(items=[found], next_cursor=None)
    items, cursor = await service.list_mine(session, caller, paging)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Start a direct conversation {kind: direct, user_id} or an announcement {kind: announcement, audience}",
    description="A direct conversation that already exists is answered with 200 and that conversation.",
    responses=problem_responses(Forbidden, NotFound, InvalidInput),
)
async def start_conversation(
    data: Annotated[StartConversation, Body()],
    caller: CallerDep,
    runtime: RuntimeDep,
    session: SessionDep,
    response: Response,
) -> ConversationOut:
    if isinstance(data, StartDirect):
        conversation, created = await service.start_direct(session, runtime, caller, data)
        if not created:
            response.status_code = status.HTTP_200_OK
        return conversation
    return await service.start_announcement(session, runtime, caller, data)


@router.get("/{conversation_id}", summary="One conversation", responses=problem_responses(NotFound))
async def get_conversation(conversation_id: ConversationID, caller: CallerDep, session: SessionDep) -> ConversationOut:
    return await service.get(session, caller, conversation_id)


@router.get(
    "/{conversation_id}/messages",
    summary="Messages, newest first (cursor pages)",
    responses=problem_responses(NotFound, InvalidInput),
)
async def list_messages(
    conversation_id: ConversationID, caller: CallerDep, session: SessionDep, paging: Paging
) -> Page[MessageOut]:
    items, cursor = await service.messages(session, caller, conversation_id, paging)
    return Page(items=items, next_cursor=cursor)


@router.post(
    "/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Send a message (plain text)",
    responses=problem_responses(Forbidden, NotFound, InvalidInput),
)
async def send_message(
    conversation_id: ConversationID, data: MessageIn, caller: CallerDep, runtime: RuntimeDep, session: SessionDep
) -> MessageOut:
    return await service.send(session, runtime, caller, conversation_id, data.body)


@router.patch(
    "/{conversation_id}/messages/{message_id}",
    summary="Edit my message (within the edit window)",
    responses=problem_responses(Forbidden, NotFound, InvalidInput),
)
async def edit_message(
    conversation_id: ConversationID,
    message_id: MessageID,
    data: MessageIn,
    caller: CallerDep,
    runtime: RuntimeDep,
    session: SessionDep,
) -> MessageOut:
    return await service.edit(session, runtime, caller, conversation_id, message_id, data.body)


@router.delete(
    "/{conversation_id}/messages/{message_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete my message (within the edit window)",
    responses=problem_responses(Forbidden, NotFound),
)
async def delete_message(
    conversation_id: ConversationID, message_id: MessageID, caller: CallerDep, runtime: RuntimeDep, session: SessionDep
) -> Response:
    await service.delete(session, runtime, caller, conversation_id, message_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{conversation_id}/read",
    summary="Mark everything up to a message read",
    responses=problem_responses(NotFound, InvalidInput),
)
async def mark_read(
    conversation_id: ConversationID, data: ReadIn, caller: CallerDep, runtime: RuntimeDep, session: SessionDep
) -> ReadOut:
    return await service.mark_read(session, runtime, caller, conversation_id, data.up_to)


@router.get(
    "/{conversation_id}/receipts",
    summary="How far each reader has read (read receipts)",
    responses=problem_responses(NotFound),
)
async def list_receipts(conversation_id: ConversationID, caller: CallerDep, session: SessionDep) -> Receipts:
    return await service.receipts(session, caller, conversation_id)
