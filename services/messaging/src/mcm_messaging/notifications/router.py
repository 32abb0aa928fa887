"""HTTP for the notification centre (ARCHITECTURE §11: `GET /api/v1/notifications`,
`POST /api/v1/notifications/read` {ids|all})."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from mcm_messaging.deps import CallerDep, Paging, RuntimeDep
from mcm_messaging.notifications import service
from mcm_messaging.notifications.schemas import NotificationPage, ReadIn, ReadResult
from mcm_shared.errors import Forbidden, InvalidInput, problem_responses
from mcm_shared.wiring import SessionDep

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get(
    "",
    summary="My notifications, newest first, with the unread count",
    responses=problem_responses(Forbidden, InvalidInput),
)
async def list_notifications(
    caller: CallerDep,
    session: SessionDep,
    paging: Paging,
    unread: Annotated[bool, Query(description="Only entries not read yet")] = False,
) -> NotificationPage:
    return await service.list_mine(session, caller.user_id, paging, unread_only=unread)


@router.post(
    "/read",
    summary="Mark notifications read: {ids: [...]} or {all: true}",
    responses=problem_responses(Forbidden, InvalidInput),
)
async def mark_read(data: ReadIn, caller: CallerDep, runtime: RuntimeDep, session: SessionDep) -> ReadResult:
    return await service.mark_read(session, runtime, caller.user_id, None if data.all else data.ids)
