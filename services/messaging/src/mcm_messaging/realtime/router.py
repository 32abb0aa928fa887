"""HTTP and WebSocket routes of real-time delivery (ARCHITECTURE §11): a ticket over HTTPS, then
the socket, which the gateway relays without a token (the ticket travels in the first frame)."""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from mcm_messaging.delivery.tickets import TicketHolder
from mcm_messaging.deps import CallerDep, PrincipalDep, RuntimeDep, WebSocketRuntimeDep
from mcm_messaging.realtime import session
from mcm_messaging.realtime.schemas import TicketOut
from mcm_shared.errors import DependencyUnavailable, Forbidden, problem_responses

router = APIRouter(prefix="/api/v1/realtime", tags=["realtime"])


@router.post(
    "/tickets",
    summary="A short-lived, single-use ticket that opens the real-time socket",
    responses=problem_responses(Forbidden, DependencyUnavailable),
)
async def issue_ticket(caller: CallerDep, principal: PrincipalDep, runtime: RuntimeDep) -> TicketOut:
    if runtime.realtime is None:
        raise DependencyUnavailable("Real-time delivery needs Redis, which is not configured.")
    holder = TicketHolder(user_id=caller.user_id, session_id=principal.session_id, roles=caller.roles)
    ticket = await runtime.realtime.tickets.issue(holder)
    return TicketOut(ticket=ticket, expires_in=runtime.settings.realtime_ticket_ttl_seconds)


@router.websocket("")
async def realtime_socket(websocket: WebSocket, runtime: WebSocketRuntimeDep) -> None:
    if runtime.realtime is None:
        await websocket.close(code=1013)  # try again later
        return
    await session.run(websocket, runtime, runtime.realtime)
