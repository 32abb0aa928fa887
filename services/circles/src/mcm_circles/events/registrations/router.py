"""HTTP for registrations, the waitlist, check-in and event staff."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Path, Query, Request, Response

from mcm_circles.deps import ClockDep, Cursor, EventsSettingsDep, GatesDep, Limit
from mcm_circles.events import views
from mcm_circles.events.checkin import service as checkin
from mcm_circles.events.enums import RegistrationStatus, StaffRole
from mcm_circles.events.errors import (
    AlreadyRegistered,
    DuplicateStaff,
    EventFull,
    EventNotFound,
    InvalidEventState,
    InvalidRegistrationState,
    NotEventManager,
    NotEventStaff,
    RegistrationClosed,
    RegistrationNotFound,
    RequirementsNotMet,
    StaffMemberNotFound,
)
from mcm_circles.events.registrations import approval, on_behalf
from mcm_circles.events.registrations import service as registration
from mcm_circles.events.registrations.fast_lane import fast_lane_route
from mcm_circles.events.registrations.schemas import (
    Approve,
    CareAssignment,
    Decline,
    Participant,
    Promote,
    Registration,
    RegistrationCreate,
    StaffCreate,
    StaffMember,
    WaitlistMove,
)
from mcm_circles.events.staff import service as staff
from mcm_circles.events.waitlist import service as waitlist
from mcm_circles.runtime import CirclesRuntime
from mcm_shared.errors import Unauthenticated, problem_responses
from mcm_shared.pagination import Page, make_cursor, parse_datetime, parse_int, read_cursor
from mcm_shared.security import CurrentPrincipal, Principal
from mcm_shared.wiring import SessionDep

EventID = Annotated[UUID, Path(description="Event id")]
RegistrationID = Annotated[UUID, Path(description="Registration id")]
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]

router = APIRouter(prefix="/api/v1/events/{event_id}", tags=["event registrations"])
_STAFF = problem_responses(Unauthenticated, NotEventStaff, EventNotFound)
_MANAGE = problem_responses(
    Unauthenticated, NotEventManager, EventNotFound, RegistrationNotFound, InvalidRegistrationState
)


async def register(
    event_id: EventID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    gates: GatesDep,
    idempotency_key: IdempotencyKey = None,
    data: RegistrationCreate | None = None,
) -> Response:
    """Confirmed (free), pending_payment with a seat hold (paid) or waitlisted (full); on an event
    that requires approval, pending_approval (no seat) until staff decide. A retry with the same
    `Idempotency-Key` returns the registration already made (200).

    With `user_id`, the event's managers register that member on his behalf (audited, the member
    is notified; the event's requirements and approval are the staff's call)."""
    if data is not None and data.user_id is not None:
        staff_row = await on_behalf.register_on_behalf(
            session, principal, event_id, user_id=data.user_id, reason=data.reason, now=clock.now(), settings=settings
        )
        return Response(views.registration(staff_row).model_dump_json(), status_code=201, media_type="application/json")
    row, created = await registration.register(
        session,
        principal,
        event_id,
        data=data or RegistrationCreate(),
        now=clock.now(),
        settings=settings,
        gates=gates,
        idempotency_key=idempotency_key,
    )
    # The hot path answers the JSON itself: the view is already a validated `Registration`, so
    # FastAPI's second validation of the return value against `response_model` is skipped.
    return Response(
        views.registration(row).model_dump_json(), status_code=201 if created else 200, media_type="application/json"
    )


async def _register_in_fast_lane(
    request: Request,
    runtime: CirclesRuntime,
    principal: Principal,
    event_id: UUID,
    idempotency_key: str | None,
    data: RegistrationCreate | None,
) -> Response:
    """`register` for a request the fast lane has read and authenticated (fast_lane.py)."""
    async with runtime.database.session() as session:
        return await register(
            event_id,
            principal,
            session,
            runtime.clock,
            runtime.events_settings,
            runtime.gates,
            idempotency_key,
            data,
        )


# Declared as any route (the OpenAPI document and the standard handler come from `register`'s
# signature); its usual request is answered by the fast lane in front of the standard handler.
#
# It sits on a router of its own that the app includes before all others (main.py): FastAPI tries
# routes one by one, and behind the service's other routers matching this path cost about 0.2 ms
# of CPU per request (measured), a tenth of circles' share of a registration. No other route
# answers POST on this path, so the order changes which route is tried first, not which answers.
registration_router = APIRouter(prefix="/api/v1/events/{event_id}", tags=["events", "event registrations"])
registration_router.add_api_route(
    "/registrations",
    register,
    methods=["POST"],
    status_code=201,
    response_model=Registration,
    responses={
        200: {"model": Registration, "description": "A retry with the same Idempotency-Key: the registration it made"},
        **problem_responses(
            Unauthenticated, NotEventManager, EventNotFound, AlreadyRegistered, RegistrationClosed, RequirementsNotMet
        ),
    },
    route_class_override=fast_lane_route(RegistrationCreate | None, _register_in_fast_lane),
)


@router.get(
    "/registrations/me",
    response_model=Registration,
    responses=problem_responses(Unauthenticated, EventNotFound, RegistrationNotFound),
)
async def my_registration(
    event_id: EventID, principal: CurrentPrincipal, session: SessionDep, clock: ClockDep, settings: EventsSettingsDep
) -> Registration:
    row = await registration.my_registration(session, principal, event_id, now=clock.now(), settings=settings)
    return views.registration(row)


@router.delete(
    "/registrations/me",
    response_model=Registration,
    responses=problem_responses(Unauthenticated, EventNotFound, RegistrationNotFound, InvalidEventState),
)
async def cancel_my_registration(
    event_id: EventID, principal: CurrentPrincipal, session: SessionDep, clock: ClockDep, settings: EventsSettingsDep
) -> Registration:
    """Cancel; the answer says whether what was paid is refunded (`refund`: full | none)."""
    row = await registration.cancel_my_registration(session, principal, event_id, now=clock.now(), settings=settings)
    return views.registration(row)


@router.delete(
    "/registrations/{user_id}",
    response_model=Registration,
    responses={**_MANAGE, **problem_responses(InvalidEventState)},
)
async def cancel_on_behalf(
    event_id: EventID,
    user_id: Annotated[UUID, Path(description="The member whose registration is cancelled")],
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    reason: Annotated[str | None, Query(max_length=500, description="Why, for the audit trail")] = None,
) -> Registration:
    """The event's managers cancel a member's active registration with his own refund rule; the
    answer states the consequence (`refund`: full | none; `cancel_reason`: by_staff)."""
    row = await on_behalf.cancel_on_behalf(
        session, principal, event_id, user_id=user_id, reason=reason, now=clock.now(), settings=settings
    )
    return views.registration(row)


@router.post(
    "/registrations/{registration_id}/approve",
    response_model=Registration,
    responses={**_MANAGE, **problem_responses(InvalidEventState)},
)
async def approve_application(
    event_id: EventID,
    registration_id: RegistrationID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    data: Approve | None = None,
) -> Registration:
    """Approve a pending_approval registration: it takes a seat (confirmed or held for payment)
    when one is free and nobody waits, else a waitlist place. The member is notified."""
    row = await approval.approve(
        session,
        principal,
        event_id,
        registration_id,
        reason=data.reason if data else None,
        now=clock.now(),
        settings=settings,
    )
    return views.registration(row)


@router.post("/registrations/{registration_id}/decline", response_model=Registration, responses=_MANAGE)
async def decline_application(
    event_id: EventID,
    registration_id: RegistrationID,
    data: Decline,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Registration:
    """Decline a pending_approval registration with a reason the member is told."""
    row = await approval.decline(
        session, principal, event_id, registration_id, reason=data.reason, now=clock.now(), settings=settings
    )
    return views.registration(row)


@router.get("/registrations", response_model=Page[Participant], responses=_STAFF)
async def participants(
    event_id: EventID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
    status: RegistrationStatus | None = None,
    payment_overdue: Annotated[bool | None, Query(description="Only (or no) registrations flagged overdue")] = None,
) -> Page[Participant]:
    """Staff only: the participants with display names (never contact details)."""
    after = read_cursor(cursor, "created_at", parse_datetime)
    rows, names, access = await staff.participants(
        session,
        principal,
        event_id,
        status=status,
        overdue=payment_overdue,
        limit=limit,
        after=after,
        now=clock.now(),
        settings=settings,
    )
    items = [views.participant(row, names, manager=access.can_manage) for row in rows[:limit]]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page[Participant](
        items=items, next_cursor=make_cursor("created_at", last.created_at, last.id) if last else None
    )


@router.get("/waitlist", response_model=Page[Participant], responses=_STAFF)
async def get_waitlist(
    event_id: EventID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    limit: Limit = 50,
    cursor: Cursor = None,
) -> Page[Participant]:
    """Staff only: the waitlist in order."""
    after = read_cursor(cursor, "position", parse_int)
    _, rows, manager = await waitlist.waitlist(
        session, principal, event_id, now=clock.now(), settings=settings, limit=limit, after=after[0] if after else 0
    )
    names = await staff.display_names(session, rows)
    last = rows[limit - 1] if len(rows) > limit else None
    return Page[Participant](
        items=[views.participant(row, names, manager=manager) for row in rows[:limit]],
        next_cursor=make_cursor("position", last.waitlist_position, last.id) if last else None,
    )


@router.post("/waitlist/{registration_id}/move", response_model=Registration, responses=_MANAGE)
async def move_in_waitlist(
    event_id: EventID,
    registration_id: RegistrationID,
    data: WaitlistMove,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Registration:
    row = await waitlist.move(
        session, principal, event_id, registration_id, position=data.position, now=clock.now(), settings=settings
    )
    return views.registration(row)


@router.post(
    "/registrations/{registration_id}/promote",
    response_model=Registration,
    responses={**_MANAGE, **problem_responses(EventFull)},
)
async def promote(
    event_id: EventID,
    registration_id: RegistrationID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    data: Promote | None = None,
) -> Registration:
    """Give a waiting person a free seat by hand (or, with extend_capacity, one extra seat)."""
    row = await waitlist.promote(
        session,
        principal,
        event_id,
        registration_id,
        extend_capacity=bool(data and data.extend_capacity),
        now=clock.now(),
        settings=settings,
    )
    return views.registration(row)


@router.put("/registrations/{registration_id}/care-team", response_model=Registration, responses=_MANAGE)
async def assign_care(
    event_id: EventID,
    registration_id: RegistrationID,
    data: CareAssignment,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Registration:
    row = await staff.assign_care(
        session, principal, event_id, registration_id, care_user_id=data.user_id, now=clock.now(), settings=settings
    )
    return views.registration(row)


@router.post(
    "/registrations/{registration_id}/check-in",
    response_model=Participant,
    responses={**_STAFF, **problem_responses(RegistrationNotFound, InvalidRegistrationState)},
)
async def check_in(
    event_id: EventID,
    registration_id: RegistrationID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Participant:
    row = await checkin.check_in(session, principal, event_id, registration_id, now=clock.now(), settings=settings)
    return views.participant(row, await staff.display_names(session, [row]), manager=False)


@router.delete(
    "/registrations/{registration_id}/check-in",
    response_model=Participant,
    responses={**_STAFF, **problem_responses(RegistrationNotFound)},
)
async def undo_check_in(
    event_id: EventID,
    registration_id: RegistrationID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Participant:
    row = await checkin.undo_check_in(session, principal, event_id, registration_id, now=clock.now(), settings=settings)
    return views.participant(row, await staff.display_names(session, [row]), manager=False)


@router.get("/staff", response_model=list[StaffMember], responses=_STAFF)
async def list_staff(
    event_id: EventID, principal: CurrentPrincipal, session: SessionDep, clock: ClockDep, settings: EventsSettingsDep
) -> list[StaffMember]:
    members, names, assigned = await staff.staff_list(session, principal, event_id, now=clock.now(), settings=settings)
    return [views.staff_member(member, names, assigned) for member in members]


@router.post(
    "/staff", status_code=201, response_model=StaffMember, responses={**_MANAGE, **problem_responses(DuplicateStaff)}
)
async def add_staff(
    event_id: EventID,
    data: StaffCreate,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> StaffMember:
    member = await staff.add_staff(
        session, principal, event_id, user_id=data.user_id, role=data.role, now=clock.now(), settings=settings
    )
    names = await staff.display_names_of(session, [member.user_id])
    return views.staff_member(member, names, {})


@router.delete("/staff/{user_id}", status_code=204, responses={**_MANAGE, **problem_responses(StaffMemberNotFound)})
async def remove_staff(
    event_id: EventID,
    user_id: Annotated[UUID, Path()],
    role: StaffRole,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Response:
    await staff.remove_staff(
        session, principal, event_id, user_id=user_id, role=role, now=clock.now(), settings=settings
    )
    return Response(status_code=204)
