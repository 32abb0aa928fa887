"""SQL of the events context. Repositories take the session and return models; no rules here."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from mcm_circles.events.enums import ACTIVE_STATUSES, EventStatus, RegistrationStatus, Visibility
from mcm_circles.events.models import (
    Event, EventCircle, EventInvitation, EventStaff, EventType, Registration, RequirementTemplate,
)
from mcm_circles.events.permissions import Viewer

_DETAILS = (selectinload(Event.circle_links), selectinload(Event.invitations), selectinload(Event.requirements))


@dataclass(frozen=True)
class EventFilters:
    type: str | None = None
    status: EventStatus | None = None
    starts_from: datetime | None = None
    starts_to: datetime | None = None
    circle_id: UUID | None = None
    city: str | None = None
    online: bool | None = None
    registered: bool | None = None
    descending: bool = False


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, event_id: UUID, *, lock: bool = False, details: bool = True) -> Event | None:
        query = select(Event).where(Event.id == event_id)
        if details:
            query = query.options(*_DETAILS)
        if lock:
            # Every change to seats, counters or the waitlist happens under this row lock.
            query = query.with_for_update(of=Event)
        result = await self.session.execute(query.execution_options(populate_existing=True))
        return result.scalar_one_or_none()

    async def lock(self, event_id: UUID, *, details: bool = True) -> Event | None:
        return await self.get(event_id, lock=True, details=details)

    async def type_exists(self, code: str) -> bool:
        return await self.session.get(EventType, code) is not None

    async def types(self) -> Sequence[EventType]:
        return (await self.session.scalars(select(EventType).order_by(EventType.code))).all()

    async def standing(self, event_id: UUID, user_id: UUID) -> tuple[frozenset[str], bool, bool]:
        """(staff roles on the event, invited?, ever registered?) in one round trip."""
        roles = (
            select(func.coalesce(func.array_agg(EventStaff.role), []))
            .where(EventStaff.event_id == event_id, EventStaff.user_id == user_id)
            .scalar_subquery()
        )
        invited = exists().where(EventInvitation.event_id == event_id, EventInvitation.user_id == user_id)
        registered = exists().where(Registration.event_id == event_id, Registration.user_id == user_id)
        row = (await self.session.execute(select(roles, invited, registered))).one()
        return frozenset(row[0] or ()), bool(row[1]), bool(row[2])

    async def list_visible(self, viewer: Viewer, filters: EventFilters, *, limit: int,
                           after: tuple[datetime, UUID] | None) -> list[Event]:
        query = select(Event).options(*_DETAILS)
        if not viewer.sees_all:
            query = query.where(_visible_to(viewer))
        query = _filtered(query, filters, viewer.user_id)
        order = (Event.starts_at.desc(), Event.id.desc()) if filters.descending else (Event.starts_at, Event.id)
        if after is not None:
            key = (Event.starts_at, Event.id)
            query = query.where(
                func.row(*key) < func.row(*after) if filters.descending else func.row(*key) > func.row(*after)
            )
        return list((await self.session.scalars(query.order_by(*order).limit(limit + 1))).all())

    async def events_to_complete(self, now: datetime, limit: int = 100) -> list[UUID]:
        rows = await self.session.scalars(
            select(Event.id).where(Event.status == EventStatus.PUBLISHED, Event.ends_at <= now).limit(limit)
        )
        return list(rows)

    # -- templates --------------------------------------------------------------------------
    async def template(self, template_id: UUID) -> RequirementTemplate | None:
        return await self.session.get(RequirementTemplate, template_id)

    async def templates(self, ids: Sequence[UUID]) -> dict[UUID, RequirementTemplate]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(RequirementTemplate).where(RequirementTemplate.id.in_(ids)))
        return {row.id: row for row in rows}

    async def template_page(self, *, limit: int, after: tuple[str, UUID] | None) -> list[RequirementTemplate]:
        query = select(RequirementTemplate)
        if after is not None:
            query = query.where(func.row(RequirementTemplate.name, RequirementTemplate.id) > func.row(*after))
        query = query.order_by(RequirementTemplate.name, RequirementTemplate.id).limit(limit + 1)
        return list((await self.session.scalars(query)).all())

    # -- staff ------------------------------------------------------------------------------
    async def staff(self, event_id: UUID) -> list[EventStaff]:
        rows = await self.session.scalars(
            select(EventStaff).where(EventStaff.event_id == event_id).order_by(EventStaff.created_at, EventStaff.user_id)
        )
        return list(rows)

    async def staff_member(self, event_id: UUID, user_id: UUID, role: str) -> EventStaff | None:
        return await self.session.get(EventStaff, (event_id, user_id, role))


def _visible_to(viewer: Viewer):
    attached = exists().where(EventCircle.event_id == Event.id)
    published = and_(
        Event.status != EventStatus.DRAFT,
        or_(
            Event.visibility == Visibility.PUBLIC,
            and_(Event.visibility == Visibility.CIRCLES,
                 attached.where(EventCircle.circle_id.in_(list(viewer.member_circles)))),
            and_(Event.visibility == Visibility.INVITED,
                 exists().where(EventInvitation.event_id == Event.id, EventInvitation.user_id == viewer.user_id)),
            exists().where(Registration.event_id == Event.id, Registration.user_id == viewer.user_id),
        ),
    )
    clauses = [published, exists().where(EventStaff.event_id == Event.id, EventStaff.user_id == viewer.user_id)]
    if viewer.manageable_circles:
        clauses.append(exists().where(EventCircle.event_id == Event.id,
                                      EventCircle.circle_id.in_(list(viewer.manageable_circles))))
    return or_(*clauses)


def _filtered(query, filters: EventFilters, user_id: UUID):
    if filters.type:
        query = query.where(Event.type == filters.type)
    if filters.status:
        query = query.where(Event.status == filters.status)
    if filters.starts_from:
        query = query.where(Event.starts_at >= filters.starts_from)
    if filters.starts_to:
        query = query.where(Event.starts_at < filters.starts_to)
    if filters.circle_id:
        query = query.where(exists().where(EventCircle.event_id == Event.id, EventCircle.circle_id == filters.circle_id))
    if filters.city:
        query = query.where(func.lower(Event.city) == filters.city.lower())
    if filters.online is not None:
        query = query.where(Event.online.is_(filters.online))
    if filters.registered is not None:
        mine = exists().where(Registration.event_id == Event.id, Registration.user_id == user_id,
                              Registration.status.in_(ACTIVE_STATUSES))
        query = query.where(mine if filters.registered else ~mine)
    return query


class RegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, registration_id: UUID, *, lock: bool = False) -> Registration | None:
        query = select(Registration).where(Registration.id == registration_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()

    async def active(self, event_id: UUID, user_id: UUID) -> Registration | None:
        query = select(Registration).where(
            Registration.event_id == event_id, Registration.user_id == user_id, Registration.status.in_(ACTIVE_STATUSES)
        )
        return (await self.session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()

    async def latest(self, event_id: UUID, user_id: UUID) -> Registration | None:
        query = (
            select(Registration)
            .where(Registration.event_id == event_id, Registration.user_id == user_id)
            .order_by(Registration.created_at.desc(), Registration.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()

    async def waitlist(self, event_id: UUID, *, limit: int | None = None, after: int = 0) -> list[Registration]:
        query = (
            select(Registration)
            .where(Registration.event_id == event_id, Registration.status == RegistrationStatus.WAITLISTED,
                   Registration.waitlist_position > after)
            .order_by(Registration.waitlist_position)
            .execution_options(populate_existing=True)
        )
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.scalars(query)).all())

    async def shift_waitlist(self, event_id: UUID, *, above: int, upto: int | None, delta: int) -> None:
        """Move every waiting position in (above, upto] by `delta` (the event must be locked)."""
        condition = [Registration.event_id == event_id, Registration.status == RegistrationStatus.WAITLISTED,
                     Registration.waitlist_position > above]
        if upto is not None:
            condition.append(Registration.waitlist_position <= upto)
        await self.session.execute(
            update(Registration).where(*condition)
            .values(waitlist_position=Registration.waitlist_position + delta)
            .execution_options(synchronize_session="fetch")
        )

    async def expired_holds(self, event_id: UUID, now: datetime) -> list[Registration]:
        query = (
            select(Registration)
            .where(Registration.event_id == event_id, Registration.status == RegistrationStatus.PENDING_PAYMENT,
                   Registration.hold_expires_at <= now)
            .order_by(Registration.hold_expires_at)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(query)).all())

    async def has_expired_holds(self, event_id: UUID, now: datetime) -> bool:
        return bool(await self.session.scalar(select(exists().where(
            Registration.event_id == event_id, Registration.status == RegistrationStatus.PENDING_PAYMENT,
            Registration.hold_expires_at <= now,
        ))))

    async def events_with_expired_holds(self, now: datetime, limit: int = 100) -> list[UUID]:
        rows = await self.session.scalars(
            select(Registration.event_id)
            .where(Registration.status == RegistrationStatus.PENDING_PAYMENT, Registration.hold_expires_at <= now)
            .group_by(Registration.event_id)
            .limit(limit)
        )
        return list(rows)

    async def active_for_event(self, event_id: UUID) -> list[Registration]:
        query = (
            select(Registration)
            .where(Registration.event_id == event_id, Registration.status.in_(ACTIVE_STATUSES))
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(query)).all())

    async def page(self, event_id: UUID, *, status: RegistrationStatus | None, overdue: bool | None,
                   limit: int, after: tuple[datetime, UUID] | None) -> list[Registration]:
        query = select(Registration).where(Registration.event_id == event_id)
        if status is not None:
            query = query.where(Registration.status == status)
        if overdue is not None:
            query = query.where(Registration.payment_overdue_at.is_not(None) if overdue
                                else Registration.payment_overdue_at.is_(None))
        if after is not None:
            query = query.where(func.row(Registration.created_at, Registration.id) > func.row(*after))
        query = query.order_by(Registration.created_at, Registration.id).limit(limit + 1)
        return list((await self.session.scalars(query)).all())

    async def cared_for_by(self, event_id: UUID, care_user_id: UUID) -> list[Registration]:
        rows = await self.session.scalars(
            select(Registration).where(Registration.event_id == event_id, Registration.care_user_id == care_user_id)
        )
        return list(rows)

    async def assigned_to(self, event_id: UUID) -> dict[UUID, list[UUID]]:
        rows = await self.session.execute(
            select(Registration.care_user_id, Registration.id)
            .where(Registration.event_id == event_id, Registration.care_user_id.is_not(None),
                   Registration.status.in_(ACTIVE_STATUSES))
            .order_by(Registration.created_at)
        )
        assigned: dict[UUID, list[UUID]] = {}
        for care_user_id, registration_id in rows:
            assigned.setdefault(care_user_id, []).append(registration_id)
        return assigned
