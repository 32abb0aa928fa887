"""Event staff (facilitator, ptm, care_team, support on one event), care-team assignments and
the participant list staff work from.

Staff are not registrations and never take a seat. Managers add and remove staff and assign
participants to care-team members; any staff member reads the participant list, which shows
display names only (contact details never leave auth) — answers to the event's questions are
shown to managers only.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.config import EventsSettings
from mcm_circles.events.access import EventAccess, ensure_staff
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.enums import ACTIVE_STATUSES, EventStatus, RegistrationStatus, StaffRole
from mcm_circles.events.errors import (
    DuplicateStaff,
    InvalidEventState,
    InvalidRegistrationState,
    RegistrationNotFound,
    StaffMemberNotFound,
    field_error,
)
from mcm_circles.events.models import Event, EventStaff, Registration
from mcm_circles.events.repository import EventRepository, RegistrationRepository
from mcm_circles.events.service import managed_event, visible_event
from mcm_shared.security import Principal


async def add_staff(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    user_id: UUID,
    role: StaffRole,
    now: datetime,
    settings: EventsSettings,
) -> EventStaff:
    access = await managed_event(session, principal, event_id, now=now, settings=settings)
    if access.event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
        raise InvalidEventState(f"A {access.event.status} event gets no new staff.")
    if not await MemberDirectory(session).exists(user_id):
        raise field_error(["body", "user_id"], "no member with that id")
    if await EventRepository(session).staff_member(event_id, user_id, role) is not None:
        raise DuplicateStaff(f"That person is already {role} on this event.")
    member = EventStaff(event_id=event_id, user_id=user_id, role=role, added_by=access.viewer.user_id)
    session.add(member)
    await session.commit()
    return member


async def takes_staff(session: AsyncSession, event_id: UUID) -> bool:
    """For auth, before it sends an event-staff invitation: the event exists and is neither
    cancelled nor completed."""
    event = await EventRepository(session).get(event_id, details=False)
    return event is not None and event.status not in (EventStatus.CANCELLED, EventStatus.COMPLETED)


async def add_invited_staff(session: AsyncSession, event_id: UUID, user_id: UUID, *, invited_by: UUID | None) -> bool:
    """An accepted invitation onto an event's staff (sent by a ptm or an admin): he joins as ptm.
    False when the event does not exist or takes no staff any more; idempotent."""
    event = await EventRepository(session).get(event_id, lock=True, details=False)
    if event is None or event.status in (EventStatus.CANCELLED, EventStatus.COMPLETED):
        return False
    if await EventRepository(session).staff_member(event_id, user_id, StaffRole.PTM) is None:
        session.add(EventStaff(event_id=event_id, user_id=user_id, role=StaffRole.PTM, added_by=invited_by or user_id))
        await session.flush()
    return True


async def remove_staff(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    user_id: UUID,
    role: StaffRole,
    now: datetime,
    settings: EventsSettings,
) -> None:
    await managed_event(session, principal, event_id, now=now, settings=settings)
    member = await EventRepository(session).staff_member(event_id, user_id, role)
    if member is None:
        raise StaffMemberNotFound(f"That person is not {role} on this event.")
    await session.delete(member)
    if role == StaffRole.CARE_TEAM:
        for registration in await RegistrationRepository(session).cared_for_by(event_id, user_id):
            registration.care_user_id = None
    await session.commit()


async def staff_list(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> tuple[list[EventStaff], dict[UUID, str], dict[UUID, list[UUID]]]:
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    ensure_staff(access)
    members = await EventRepository(session).staff(event_id)
    names = await MemberDirectory(session).display_names(member.user_id for member in members)
    return members, names, await RegistrationRepository(session).assigned_to(event_id)


async def assign_care(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    registration_id: UUID,
    *,
    care_user_id: UUID | None,
    now: datetime,
    settings: EventsSettings,
) -> Registration:
    await managed_event(session, principal, event_id, now=now, settings=settings)
    registration = await RegistrationRepository(session).get(registration_id, lock=True)
    if registration is None or registration.event_id != event_id:
        raise RegistrationNotFound()
    if registration.status not in ACTIVE_STATUSES:
        raise InvalidRegistrationState(f"The registration is {registration.status}.")
    if (
        care_user_id is not None
        and await EventRepository(session).staff_member(event_id, care_user_id, StaffRole.CARE_TEAM) is None
    ):
        raise field_error(["body", "user_id"], "that person is not on this event's care team")
    registration.care_user_id = care_user_id
    await session.commit()
    return registration


async def participants(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    status: RegistrationStatus | None,
    overdue: bool | None,
    limit: int,
    after: tuple[datetime, UUID] | None,
    now: datetime,
    settings: EventsSettings,
) -> tuple[list[Registration], dict[UUID, str], EventAccess[Event]]:
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    ensure_staff(access)
    rows = await RegistrationRepository(session).page(
        event_id, status=status, overdue=overdue, limit=limit, after=after
    )
    names = await display_names(session, rows)
    return rows, names, access


async def display_names(session: AsyncSession, rows: list[Registration]) -> dict[UUID, str]:
    people = {user_id for row in rows for user_id in (row.user_id, row.sponsor_user_id, row.care_user_id) if user_id}
    return await MemberDirectory(session).display_names(people)


async def display_names_of(session: AsyncSession, user_ids: list[UUID]) -> dict[UUID, str]:
    return await MemberDirectory(session).display_names(user_ids)
