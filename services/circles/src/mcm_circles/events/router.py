"""HTTP for events, event types and requirement templates (registrations and staff routes are in
`registrations/router.py`, included here so main.py registers one router).

Everything lives under /api/v1/events (the gateway routes that prefix to this service); the
literal paths (`types`, `requirement-templates`) are declared before `/{event_id}`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from mcm_circles.deps import ClockDep, Cursor, EventsSettingsDep, Limit
from mcm_circles.events import cancellation, models, service, templates, views
from mcm_circles.events.enums import EventStatus
from mcm_circles.events.errors import (
    CapacityBelowSeatsTaken,
    DuplicateEventType,
    DuplicateTemplateName,
    EventNotFound,
    EventTypeInUse,
    EventTypeNotFound,
    InvalidEventState,
    NotAdmin,
    NotEventManager,
    TemplateNotFound,
)
from mcm_circles.events.registrations.router import router as registrations_router
from mcm_circles.events.repository import EventFilters
from mcm_circles.events.schemas import (
    Event,
    EventCancel,
    EventCreate,
    EventInvitationAuthority,
    EventType,
    EventTypeCreate,
    EventTypeUpdate,
    EventUpdate,
    RequirementTemplate,
    RequirementTemplateCreate,
)
from mcm_circles.events.staff import service as staff
from mcm_shared.errors import Forbidden, Unauthenticated, problem_responses
from mcm_shared.pagination import Page, make_cursor, parse_datetime, parse_str, read_cursor
from mcm_shared.security import CurrentPrincipal, Principal, require_service
from mcm_shared.wiring import SessionDep

EventID = Annotated[UUID, Path(description="Event id")]
TemplateID = Annotated[UUID, Path(description="Requirement template id")]
EventTypeKey = Annotated[str, Path(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="Event type key")]
SORTS = {"starts_at": False, "-starts_at": True}

router = APIRouter(tags=["events"])
# Never routed by the gateway (it refuses any path with an `internal` segment).
internal_router = APIRouter(prefix="/internal/v1/events", tags=["internal"])
_SEEN = problem_responses(Unauthenticated, EventNotFound)
_MANAGED = problem_responses(Unauthenticated, NotEventManager, EventNotFound, InvalidEventState)


def _event_type(row: models.EventType) -> EventType:
    return EventType(code=row.code, label=row.label, active=row.active)


@router.get("/api/v1/events/types", response_model=list[EventType], responses=problem_responses(Unauthenticated))
async def list_event_types(principal: CurrentPrincipal, session: SessionDep) -> list[EventType]:
    """The types a new event may take (the active ones); `/api/v1/event-types` lists them all."""
    return [_event_type(row) for row in await service.event_types(session, active_only=True)]


@router.get(
    "/api/v1/event-types",
    response_model=list[EventType],
    tags=["event types"],
    responses=problem_responses(Unauthenticated),
)
async def all_event_types(principal: CurrentPrincipal, session: SessionDep) -> list[EventType]:
    """Every event type, inactive ones included (existing events keep them)."""
    return [_event_type(row) for row in await service.event_types(session)]


@router.post(
    "/api/v1/event-types",
    status_code=201,
    response_model=EventType,
    tags=["event types"],
    responses=problem_responses(Unauthenticated, NotAdmin, DuplicateEventType),
)
async def create_event_type(data: EventTypeCreate, principal: CurrentPrincipal, session: SessionDep) -> EventType:
    """Admins add a type; events may take it at once (no migration)."""
    return _event_type(await service.create_event_type(session, principal, data=data))


@router.patch(
    "/api/v1/event-types/{code}",
    response_model=EventType,
    tags=["event types"],
    responses=problem_responses(Unauthenticated, NotAdmin, EventTypeNotFound),
)
async def update_event_type(
    code: EventTypeKey, data: EventTypeUpdate, principal: CurrentPrincipal, session: SessionDep
) -> EventType:
    """Relabel, or deactivate (`active: false`: existing events keep it, new ones cannot take it)."""
    return _event_type(await service.update_event_type(session, principal, code, data=data))


@router.delete(
    "/api/v1/event-types/{code}",
    status_code=204,
    tags=["event types"],
    responses=problem_responses(Unauthenticated, NotAdmin, EventTypeNotFound, EventTypeInUse),
)
async def delete_event_type(code: EventTypeKey, principal: CurrentPrincipal, session: SessionDep) -> Response:
    """Delete a type no event uses; one in use answers 409 (deactivate it instead)."""
    await service.delete_event_type(session, principal, code)
    return Response(status_code=204)


# -- requirement templates (literal paths, declared before /api/v1/events/{event_id}) -----------
@router.get(
    "/api/v1/events/requirement-templates",
    response_model=Page[RequirementTemplate],
    responses=problem_responses(Unauthenticated, NotEventManager),
)
async def list_templates(
    principal: CurrentPrincipal, session: SessionDep, limit: Limit = 20, cursor: Cursor = None
) -> Page[RequirementTemplate]:
    after = read_cursor(cursor, "name", parse_str)
    rows = await templates.list_templates(session, principal, limit=limit, after=after)
    next_cursor = make_cursor("name", rows[limit - 1].name, rows[limit - 1].id) if len(rows) > limit else None
    return Page[RequirementTemplate](items=[views.template(row) for row in rows[:limit]], next_cursor=next_cursor)


@router.post(
    "/api/v1/events/requirement-templates",
    status_code=201,
    response_model=RequirementTemplate,
    responses=problem_responses(Unauthenticated, NotEventManager, DuplicateTemplateName),
)
async def create_template(
    principal: CurrentPrincipal, session: SessionDep, data: RequirementTemplateCreate
) -> RequirementTemplate:
    return views.template(await templates.create_template(session, principal, data=data))


@router.get(
    "/api/v1/events/requirement-templates/{template_id}",
    response_model=RequirementTemplate,
    responses=problem_responses(Unauthenticated, NotEventManager, TemplateNotFound),
)
async def get_template(
    template_id: TemplateID, principal: CurrentPrincipal, session: SessionDep
) -> RequirementTemplate:
    return views.template(await templates.get_template(session, principal, template_id))


# -- events ---------------------------------------------------------------------------------------
@router.get("/api/v1/events", response_model=Page[Event], responses=problem_responses(Unauthenticated))
async def list_events(
    principal: CurrentPrincipal,
    session: SessionDep,
    limit: Limit = 20,
    cursor: Cursor = None,
    type: Annotated[str | None, Query(max_length=40)] = None,
    status: EventStatus | None = None,
    starts_from: Annotated[datetime | None, Query(alias="from", description="starts_at >= this instant")] = None,
    starts_to: Annotated[datetime | None, Query(alias="to", description="starts_at < this instant")] = None,
    circle_id: UUID | None = None,
    city: Annotated[str | None, Query(max_length=120)] = None,
    online: bool | None = None,
    registered: Annotated[
        bool | None, Query(description="Only events I have (or have not) an active registration for")
    ] = None,
    sort: Annotated[str, Query(pattern="^-?starts_at$")] = "starts_at",
) -> Page[Event]:
    filters = EventFilters(
        type=type,
        status=status,
        starts_from=starts_from,
        starts_to=starts_to,
        circle_id=circle_id,
        city=city,
        online=online,
        registered=registered,
        descending=SORTS[sort],
    )
    after = read_cursor(cursor, sort, parse_datetime)
    rows, viewer = await service.list_events(session, principal, filters, limit=limit, after=after)
    items = [views.event(row, manager=viewer.manages(row)) for row in rows[:limit]]
    next_cursor = make_cursor(sort, rows[limit - 1].starts_at, rows[limit - 1].id) if len(rows) > limit else None
    return Page[Event](items=items, next_cursor=next_cursor)


@router.post(
    "/api/v1/events",
    status_code=201,
    response_model=Event,
    responses=problem_responses(Unauthenticated, NotEventManager),
)
async def create_event(principal: CurrentPrincipal, session: SessionDep, data: EventCreate) -> Event:
    return views.event(await service.create_event(session, principal, data=data), manager=True)


@router.get("/api/v1/events/{event_id}", response_model=Event, responses=_SEEN)
async def get_event(
    event_id: EventID, principal: CurrentPrincipal, session: SessionDep, clock: ClockDep, settings: EventsSettingsDep
) -> Event:
    access = await service.visible_event(session, principal, event_id, now=clock.now(), settings=settings)
    return views.event(access.event, manager=access.can_manage)


@router.patch(
    "/api/v1/events/{event_id}",
    response_model=Event,
    responses=problem_responses(Unauthenticated, NotEventManager, EventNotFound, CapacityBelowSeatsTaken),
)
async def update_event(
    event_id: EventID,
    data: EventUpdate,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
) -> Event:
    event = await service.update_event(session, principal, event_id, data=data, now=clock.now(), settings=settings)
    return views.event(event, manager=True)


@router.post("/api/v1/events/{event_id}/publish", response_model=Event, responses=_MANAGED)
async def publish_event(
    event_id: EventID, principal: CurrentPrincipal, session: SessionDep, clock: ClockDep, settings: EventsSettingsDep
) -> Event:
    event = await service.publish_event(session, principal, event_id, now=clock.now(), settings=settings)
    return views.event(event, manager=True)


@router.post("/api/v1/events/{event_id}/cancel", response_model=Event, responses=_MANAGED)
async def cancel_event(
    event_id: EventID,
    principal: CurrentPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: EventsSettingsDep,
    data: Annotated[EventCancel | None, Body()] = None,
) -> Event:
    event = await cancellation.cancel_event(
        session, principal, event_id, reason=(data.reason if data else ""), now=clock.now(), settings=settings
    )
    return views.event(event, manager=True)


@router.post("/api/v1/events/{event_id}/complete", response_model=Event, responses=_MANAGED)
async def complete_event(
    event_id: EventID, principal: CurrentPrincipal, session: SessionDep, clock: ClockDep, settings: EventsSettingsDep
) -> Event:
    event = await service.complete_event(session, principal, event_id, now=clock.now(), settings=settings)
    return views.event(event, manager=True)


router.include_router(registrations_router)


@internal_router.get(
    "/{event_id}/invitation-authority",
    response_model=EventInvitationAuthority,
    responses=problem_responses(Unauthenticated, Forbidden),
)
async def event_invitation_authority(
    event_id: Annotated[UUID, Path()],
    session: SessionDep,
    _caller: Annotated[Principal, Depends(require_service("auth"))],
) -> EventInvitationAuthority:
    """For auth only: whether the event exists and still takes staff (not cancelled or completed)."""
    return EventInvitationAuthority(event_open=await staff.takes_staff(session, event_id))
