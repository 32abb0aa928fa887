"""Event use cases: create, read, list, edit, publish, complete; and the access lookup every
other use case starts with. Each use case commits once, at its end.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.config import EventsSettings
from mcm_circles.events.access import (
    EventAccess,
    Viewer,
    check_can_create,
    ensure_manager,
    ensure_visible,
)
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.enums import EventStatus
from mcm_circles.events.errors import (
    CapacityBelowSeatsTaken,
    DuplicateEventType,
    EventNotFound,
    EventTypeInUse,
    EventTypeNotFound,
    InvalidEventState,
    NotAdmin,
    NotEventManager,
    field_error,
)
from mcm_circles.events.models import Event, EventCircle, EventInvitation, EventRequirement, EventType
from mcm_circles.events.registrations import seats
from mcm_circles.events.repository import EventFilters, EventRepository, RegistrationRepository
from mcm_circles.events.requirements.service import RequirementSpec, parse_spec, question_ids_problem, spec_params
from mcm_circles.events.schemas import EventCreate, EventTypeCreate, EventTypeUpdate, EventUpdate, schedule_problem
from mcm_circles.events.templates import expand_templates
from mcm_shared.security import Principal, Role

# Fields that make up what a registrant agreed to pay; frozen once the event is published.
_PRICE_FIELDS = ("type", "price", "payment_plan")


async def viewer_for(session: AsyncSession, principal: Principal) -> Viewer:
    user_id = actor_id(principal)
    member_of, facilitating = await MemberDirectory(session).circle_roles(user_id)
    return Viewer(principal, user_id, frozenset(member_of), frozenset(facilitating))


async def access_to(session: AsyncSession, viewer: Viewer, event: Event) -> EventAccess[Event]:
    staff_roles, invited, registered = await EventRepository(session).standing(event.id, viewer.user_id)
    return EventAccess(viewer=viewer, event=event, staff_roles=staff_roles, invited=invited, registered=registered)


async def visible_event(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> EventAccess[Event]:
    """The event if the caller may see it (404 otherwise), with overdue seat holds applied."""
    viewer = await viewer_for(session, principal)
    event = await EventRepository(session).get(event_id)
    if event is None:
        raise EventNotFound()
    access = await access_to(session, viewer, event)
    ensure_visible(access)
    if not event.is_free and await RegistrationRepository(session).has_expired_holds(event.id, now):
        # Lazily apply what the background sweep has not reached yet, so counts are current.
        event = await seats.lock_event(session, event.id, now=now, settings=settings)
        await session.commit()
        access = await access_to(session, viewer, event)
    return access


async def managed_event(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> EventAccess[Event]:
    """Lock the event for a change by one of its managers (404 if unseen, 403 if not a manager)."""
    viewer = await viewer_for(session, principal)
    event = await seats.lock_event(session, event_id, now=now, settings=settings)
    access = await access_to(session, viewer, event)
    ensure_manager(access)
    return access


async def create_event(session: AsyncSession, principal: Principal, *, data: EventCreate) -> Event:
    viewer = await viewer_for(session, principal)
    check_can_create(viewer, data.circle_ids)
    repository = EventRepository(session)
    if not await repository.type_exists(data.type, active_only=True):
        raise field_error(
            ["body", "type"], f"unknown or inactive event type {data.type!r}; see GET /api/v1/event-types"
        )
    await _check_circles(session, data.circle_ids)
    specs = await _merged_requirements(session, data.requirements, data.requirement_template_ids)
    event = Event(
        type=data.type,
        created_by=viewer.user_id,
        status=EventStatus.DRAFT,
        seats_taken=0,
        confirmed_count=0,
        waitlist_count=0,
        circle_links=[EventCircle(circle_id=circle_id) for circle_id in dict.fromkeys(data.circle_ids)],
        invitations=[EventInvitation(user_id=user_id) for user_id in dict.fromkeys(data.invited_user_ids)],
    )
    _apply(
        event,
        data.model_dump(exclude={"type", "circle_ids", "invited_user_ids", "requirements", "requirement_template_ids"}),
    )
    event.requirements = _requirement_rows(specs)
    session.add(event)
    await session.commit()
    return await repository.get(event.id)  # type: ignore[return-value]


async def update_event(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    data: EventUpdate,
    now: datetime,
    settings: EventsSettings,
) -> Event:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    if event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
        raise InvalidEventState(f"A {event.status} event can no longer be changed.")
    changes = data.model_dump(exclude_unset=True)
    for name in (
        "type",
        "title",
        "starts_at",
        "ends_at",
        "timezone",
        "location",
        "capacity",
        "price",
        "visibility",
        "requires_approval",
        "description",
        "circle_ids",
        "invited_user_ids",
        "requirements",
        "requirement_template_ids",
    ):
        if name in changes and changes[name] is None:
            raise field_error(["body", name], "may not be null")
    current = _as_input(event)
    if event.status != EventStatus.DRAFT:
        frozen = [name for name in _PRICE_FIELDS if name in changes and changes[name] != current[name]]
        if frozen:
            raise InvalidEventState(f"{', '.join(frozen)} cannot change once the event is published.")
    specs: list[RequirementSpec] | None = None
    if "requirements" in changes or "requirement_template_ids" in changes:
        specs = await _merged_requirements(
            session,
            data.requirements if data.requirements is not None else _current_specs(event),
            data.requirement_template_ids or [],
        )
    merged = {**current, **changes, "requirements": specs if specs is not None else _current_specs(event)}
    problem = schedule_problem(merged)
    if problem:
        raise field_error(["body"], problem)
    if (
        "type" in changes
        and changes["type"] != event.type
        and not await EventRepository(session).type_exists(changes["type"], active_only=True)
    ):
        raise field_error(["body", "type"], f"unknown or inactive event type {changes['type']!r}")
    if "circle_ids" in changes:
        new_circles = list(dict.fromkeys(data.circle_ids or []))
        if not access.viewer.manages_all and not (new_circles and set(new_circles) <= access.viewer.manageable_circles):
            raise NotEventManager("Facilitators attach events only to circles they facilitate.")
        await _check_circles(session, new_circles)
        event.circle_links = [EventCircle(circle_id=circle_id) for circle_id in new_circles]
    if "invited_user_ids" in changes:
        event.invitations = [EventInvitation(user_id=u) for u in dict.fromkeys(data.invited_user_ids or [])]
    if specs is not None:
        event.requirements = []
        await session.flush()  # old rows go first: positions are unique per event
        event.requirements = _requirement_rows(specs)
    if "capacity" in changes and changes["capacity"] < event.seats_taken:
        raise CapacityBelowSeatsTaken(
            f"{event.seats_taken} seats are taken; the capacity cannot go below that.",
            extra={"seats_taken": event.seats_taken},
        )
    _apply(
        event,
        {
            name: changes[name]
            for name in changes
            if name not in ("type", "circle_ids", "invited_user_ids", "requirements", "requirement_template_ids")
        },
    )
    if "type" in changes:
        event.type = changes["type"]
    await session.flush()
    await seats.fill_free_seats(session, event, now=now, settings=settings)  # capacity may have grown
    await session.commit()
    return await EventRepository(session).get(event.id)  # type: ignore[return-value]


async def publish_event(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> Event:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    if event.status != EventStatus.DRAFT:
        raise InvalidEventState(f"Only a draft can be published; this event is {event.status}.")
    if event.ends_at <= now:
        raise InvalidEventState("An event that has already ended cannot be published.")
    event.status = EventStatus.PUBLISHED
    event.published_at = now
    await session.commit()
    return event


async def complete_event(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> Event:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    event = access.event
    if event.status != EventStatus.PUBLISHED or now < event.starts_at:
        raise InvalidEventState("Only a published event that has started can be completed.")
    event.status = EventStatus.COMPLETED
    await session.commit()
    return event


async def list_events(
    session: AsyncSession,
    principal: Principal,
    filters: EventFilters,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None,
) -> tuple[list[Event], Viewer]:
    viewer = await viewer_for(session, principal)
    return await EventRepository(session).list_visible(viewer, filters, limit=limit, after=after), viewer


async def event_types(session: AsyncSession, *, active_only: bool = False) -> list[EventType]:
    return list(await EventRepository(session).types(active_only=active_only))


# -- event types (admins manage the lookup table; no migration needed for a new type) -----------
def _ensure_admin(principal: Principal) -> None:
    actor_id(principal)
    if not principal.has_role(Role.ADMIN):
        raise NotAdmin("Only admins manage event types.")


async def create_event_type(session: AsyncSession, principal: Principal, *, data: EventTypeCreate) -> EventType:
    _ensure_admin(principal)
    repository = EventRepository(session)
    if await repository.event_type(data.code) is not None:
        raise DuplicateEventType(f"The event type {data.code!r} exists; PATCH it to change its label or reactivate it.")
    row = EventType(code=data.code, label=data.label, active=True)
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:  # created meanwhile by another admin
        await session.rollback()
        raise DuplicateEventType(f"The event type {data.code!r} exists.") from None
    return row


async def update_event_type(
    session: AsyncSession, principal: Principal, code: str, *, data: EventTypeUpdate
) -> EventType:
    """Relabel, deactivate (existing events keep the type; new events cannot take it) or reactivate."""
    _ensure_admin(principal)
    row = await EventRepository(session).event_type(code, lock=True)
    if row is None:
        raise EventTypeNotFound()
    if data.label is not None:
        row.label = data.label
    if data.active is not None:
        row.active = data.active
    await session.commit()
    return row


async def delete_event_type(session: AsyncSession, principal: Principal, code: str) -> None:
    """Only a type no event ever used is deleted; one in use is deactivated instead (409 says so)."""
    _ensure_admin(principal)
    repository = EventRepository(session)
    row = await repository.event_type(code, lock=True)
    if row is None:
        raise EventTypeNotFound()
    if await repository.type_in_use(code):
        raise EventTypeInUse(f"Events use {code!r}: deactivate it with PATCH {{'active': false}} instead.")
    await session.delete(row)
    await session.commit()


# -- helpers ------------------------------------------------------------------------------------
def _apply(event: Event, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if name == "location":
            event.city, event.online = value.get("city"), bool(value.get("online"))
            event.url = str(value["url"]) if value.get("url") else None
        elif name == "price":
            event.price_amount, event.price_currency = value["amount"], value["currency"]
        elif name == "payment_plan":
            event.instalments = value["instalments"] if value else None
        else:
            setattr(event, name, value)


def _as_input(event: Event) -> dict[str, Any]:
    return {
        "type": event.type,
        "starts_at": event.starts_at,
        "ends_at": event.ends_at,
        "registration_opens_at": event.registration_opens_at,
        "registration_closes_at": event.registration_closes_at,
        "price": {"amount": event.price_amount, "currency": event.price_currency},
        "payment_plan": {"instalments": event.instalments} if event.instalments else None,
        "visibility": event.visibility,
        "circle_ids": event.circle_ids,
    }


def _current_specs(event: Event) -> list[RequirementSpec]:
    return [parse_spec(row.kind, row.params) for row in event.requirements]


def _requirement_rows(specs: list[RequirementSpec]) -> list[EventRequirement]:
    return [EventRequirement(position=i, kind=spec.kind, params=spec_params(spec)) for i, spec in enumerate(specs)]


async def _merged_requirements(
    session: AsyncSession, specs: list[RequirementSpec], template_ids: list[UUID]
) -> list[RequirementSpec]:
    merged = await expand_templates(session, template_ids) + list(specs)
    if len(merged) > 20:
        raise field_error(["body", "requirements"], "an event has at most 20 requirements")
    problem = question_ids_problem(merged)
    if problem:
        raise field_error(["body", "requirements"], problem)
    return merged


async def _check_circles(session: AsyncSession, circle_ids: list[UUID]) -> None:
    missing = set(circle_ids) - await MemberDirectory(session).existing_circles(circle_ids)
    if missing:
        raise field_error(
            ["body", "circle_ids"], f"unknown or archived circles: {', '.join(sorted(map(str, missing)))}"
        )
