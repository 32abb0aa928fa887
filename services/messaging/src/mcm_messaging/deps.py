"""The routers' dependencies: the runtime, the session, the calling user and shared parameters.
Dependencies only read `app.state` (the lifespan fills it)."""

from __future__ import annotations

import uuid
from typing import Annotated, cast

from fastapi import Depends, Path, Request, WebSocket

from mcm_messaging.caller import Caller
from mcm_messaging.runtime import MessagingRuntime
from mcm_shared.errors import Forbidden
from mcm_shared.pagination import PageParams, page_params
from mcm_shared.security import CurrentPrincipal, Principal
from mcm_shared.wiring import SessionDep


async def get_runtime(request: Request) -> MessagingRuntime:
    # async: a plain `def` dependency would cost a thread-pool round trip on every request.
    return cast(MessagingRuntime, request.app.state.runtime)


async def get_websocket_runtime(websocket: WebSocket) -> MessagingRuntime:
    return cast(MessagingRuntime, websocket.app.state.runtime)


async def current_caller(principal: CurrentPrincipal) -> Caller:
    """A signed-in person; service tokens have no conversations."""
    if principal.user_id is None or principal.is_service:
        raise Forbidden("Messaging is for people, not services.")
    return Caller(user_id=principal.user_id, roles=principal.roles)


async def current_caller_principal(principal: CurrentPrincipal) -> Principal:
    """The verified token itself (its session id binds a socket ticket)."""
    return principal


RuntimeDep = Annotated[MessagingRuntime, Depends(get_runtime)]
WebSocketRuntimeDep = Annotated[MessagingRuntime, Depends(get_websocket_runtime)]
PrincipalDep = Annotated[Principal, Depends(current_caller_principal)]
CallerDep = Annotated[Caller, Depends(current_caller)]
ConversationID = Annotated[uuid.UUID, Path(description="A conversation's id")]
MessageID = Annotated[uuid.UUID, Path(description="A message's id")]
Paging = Annotated[PageParams, Depends(page_params)]

__all__ = [
    "CallerDep",
    "ConversationID",
    "MessageID",
    "Paging",
    "PrincipalDep",
    "RuntimeDep",
    "SessionDep",
    "WebSocketRuntimeDep",
    "current_caller",
    "get_runtime",
    "get_websocket_runtime",
]
