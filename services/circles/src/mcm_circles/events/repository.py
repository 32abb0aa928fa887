"""SQL of the events context. Repositories take the session and return models; no rules here."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, TypeVarTuple, cast
from uuid import UUID

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Executable,
    Integer,
    Result,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload
from sqlalchemy.sql.selectable import TextualSelect

from mcm_circles.events.access import Viewer
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.enums import ACTIVE_STATUSES, EventStatus, RegistrationStatus, Visibility
from mcm_circles.events.locked import LockedEvent
from mcm_circles.events.models import (
    Event,
    EventCircle,
    EventInvitation,
    EventRequirement,
    EventStaff,
    EventType,
    Registration,
    RequirementTemplate,
)
from mcm_circles.outbox import EVENTS
from mcm_shared.driver import DriverConnection, DriverStatement

Columns = TypeVarTuple("Columns")
_DETAILS = (selectinload(Event.circle_links), selectinload(Event.invitations), selectinload(Event.requirements))


@dataclass(frozen=True, slots=True)
class RegistrationFacts:
    """Everything a registration decision reads, from one locking statement."""

    event: LockedEvent
    member_circles: frozenset[UUID]
    facilitated_circles: frozenset[UUID]
    staff_roles: frozenset[str]
    invited: bool
    registered: bool
    active_id: UUID | None  # the caller's active registration for the event, if any
    active_key: str | None  # and the Idempotency-Key it was made with
    expired_holds: bool  # seat holds of the event that ran out and were not released yet


_LOCKED_EVENT_COLUMNS = (
    Event.id,
    Event.title,
    Event.status,
    Event.visibility,
    Event.starts_at,
    Event.registration_opens_at,
    Event.registration_closes_at,
    Event.capacity,
    Event.seats_taken,
    Event.confirmed_count,
    Event.waitlist_count,
    Event.price_amount,
    Event.price_currency,
    Event.instalments,
    Event.requires_approval,
)
_LOCKED_EVENT_FIELDS = tuple(column.key for column in _LOCKED_EVENT_COLUMNS)  # LockedEvent's first fields


def _registration_facts_statement(*, lock: bool = True) -> Select[*tuple[Any, ...]]:
    event_id, user_id = (
        bindparam("event_id", type_=Event.id.type),
        bindparam("user_id", type_=Registration.user_id.type),
    )
    # The statuses inline (not an expanding IN parameter, which is re-rendered on every execution).
    active_statuses: list[ColumnClause[Any]] = [literal_column(f"'{status}'") for status in ACTIVE_STATUSES]
    active = (
        Registration.event_id == Event.id,
        Registration.user_id == user_id,
        Registration.status.in_(active_statuses),
    )
    member_of, facilitating = MemberDirectory.circle_roles_columns(user_id)
    statement = select(
        *_LOCKED_EVENT_COLUMNS,
        select(func.array_agg(aggregate_order_by(EventCircle.circle_id, EventCircle.circle_id)))
        .where(EventCircle.event_id == Event.id)
        .scalar_subquery(),
        select(
            func.jsonb_agg(
                aggregate_order_by(
                    func.jsonb_build_array(EventRequirement.kind, EventRequirement.params), EventRequirement.position
                ),
                type_=JSONB,
            )
        )
        .where(EventRequirement.event_id == Event.id)
        .scalar_subquery(),
        member_of,
        facilitating,
        select(func.array_agg(EventStaff.role))
        .where(EventStaff.event_id == Event.id, EventStaff.user_id == user_id)
        .scalar_subquery(),
        exists().where(EventInvitation.event_id == Event.id, EventInvitation.user_id == user_id),
        exists().where(Registration.event_id == Event.id, Registration.user_id == user_id),
        select(Registration.id).where(*active).limit(1).scalar_subquery(),
        select(Registration.idempotency_key).where(*active).limit(1).scalar_subquery(),
        exists().where(
            Registration.event_id == Event.id,
            # Inline, not a parameter: only a literal lets a generic (prepared) plan use the partial
            # index of holds (`status = 'pending_payment'`) instead of reading every registration
            # of the event (a thousand per registration late in the benchmark's burst).
            Registration.status == literal_column(f"'{RegistrationStatus.PENDING_PAYMENT}'"),
            Registration.hold_expires_at <= bindparam("now", type_=Registration.hold_expires_at.type),
        ),
    ).where(Event.id == event_id)
    return statement.with_for_update(of=Event) if lock else statement


# What a new registration is inserted with (parameters `new_<column>`); the rest is NULL or server-set.
_INSERTED = (
    "id",
    "event_id",
    "user_id",
    "status",
    "waitlist_position",
    "hold_expires_at",
    "amount",
    "currency",
    "instalments",
    "sponsor_user_id",
    "answers",
    "declared_birth_date",
    "idempotency_key",
    "confirmed_at",
)


def _add_registration_statement() -> Executable:
    # A mapped class's __table__ is its Table (SQLAlchemy declares it as the wider FromClause).
    events, registrations = cast(Table, Event.__table__), cast(Table, Registration.__table__)
    counters = (
        update(events)
        .where(events.c.id == bindparam("counted_event", type_=events.c.id.type))
        .values(
            seats_taken=events.c.seats_taken + bindparam("add_seats", type_=Integer()),
            confirmed_count=events.c.confirmed_count + bindparam("add_confirmed", type_=Integer()),
            waitlist_count=events.c.waitlist_count + bindparam("add_waitlisted", type_=Integer()),
            updated_at=func.now(),
        )
        .cte("counters")
    )
    values = {name: bindparam(f"new_{name}", type_=registrations.c[name].type) for name in _INSERTED}
    return insert(registrations).values(values).returning(*registrations.c).add_cte(counters)


def _admit_at_once_statement(outbox: Table) -> TextualSelect:
    """Seat, hold or waitlist a newcomer in ONE autocommitted statement: lock the event row,
    decide from its current counters, insert the registration, move the counters and, for a seat
    held for payment, add the `registration.payment_required` outbox row. PostgreSQL commits it
    before it answers, so the row lock is held for one statement and the commit's disk flush, not
    for round trips to the service. It decides only the outcomes that need nothing more than the
    counters — a free seat with nobody waiting (confirmed when the event is free, else held for
    payment) or no free seat (waitlisted) — and only while the event is published, open for
    registration, has no overdue seat hold and does not require approval (its registrations are
    applications, `seats.apply_for_approval`). Otherwise it inserts nothing and answers no row:
    the caller then takes the locked path (`seats`), which brings the event up to date and gives
    the same answer.

    The outbox row is the one `seats.admit` publishes on the locked path: its envelope (id, time,
    request id, payload) is built by the caller before the statement, except the event's title,
    taken from the locked row; it is inserted only with a held seat, so a message exists iff its
    registration does (one statement, one commit). A caller that expected no held seat (a free
    event, or one that looked full) passes no message (`message_id` NULL); should a seat be free
    under the lock after all, the statement then decides nothing and the locked path holds it.

    Under READ COMMITTED the `FOR UPDATE` that waited returns the latest row version, and so does
    the UPDATE (it follows the row to its latest version); the overdue-hold subquery sees the
    statement's snapshot, where a stale answer only sends the caller to the locked path (a hold
    cannot become overdue through another transaction). A duplicate active registration fails
    on the partial unique index, as on the locked path."""
    events, registrations = cast(Table, Event.__table__).fullname, cast(Table, Registration.__table__).fullname
    columns = ", ".join(_INSERTED)
    returned = ", ".join(column.name for column in Registration.__table__.c)  # the order `.columns()` maps
    # Every interpolated name is a table, column or enum value of our own models; values are bound.
    waitlisted, confirmed, held = (
        RegistrationStatus.WAITLISTED,
        RegistrationStatus.CONFIRMED,
        RegistrationStatus.PENDING_PAYMENT,
    )
    sql = f"""
        WITH locked AS (
            SELECT id, title, capacity, seats_taken, waitlist_count, price_amount
              FROM {events}
             WHERE id = :event_id AND status = '{EventStatus.PUBLISHED}' AND NOT requires_approval
               AND (registration_opens_at IS NULL OR registration_opens_at <= :now)
               AND :now < coalesce(registration_closes_at, starts_at)
               FOR UPDATE
        ), decided AS (
            SELECT CASE WHEN seats_taken >= capacity THEN '{waitlisted}'
                        WHEN waitlist_count = 0 AND price_amount = 0 THEN '{confirmed}'
                        WHEN waitlist_count = 0 AND :message_id IS NOT NULL THEN '{held}'
                   END AS status,
                   waitlist_count, title
              FROM locked
             WHERE NOT EXISTS (SELECT FROM {registrations} r
                                WHERE r.event_id = locked.id AND r.status = '{held}'
                                  AND r.hold_expires_at <= :now)
        ), added AS (
            INSERT INTO {registrations} ({columns})
            SELECT :id, :event_id, :user_id, status,
                   CASE WHEN status = '{waitlisted}' THEN waitlist_count + 1 END,
                   CASE WHEN status = '{held}' THEN :hold_expires_at END,
                   :amount, :currency, :instalments, :sponsor_user_id, :answers, :declared_birth_date,
                   :idempotency_key, CASE WHEN status = '{confirmed}' THEN :now END
              FROM decided WHERE status IS NOT NULL
            RETURNING {returned}
        ), counted AS (
            UPDATE {events} e
               SET seats_taken = e.seats_taken + (added.status <> '{waitlisted}')::int,
                   confirmed_count = e.confirmed_count + (added.status = '{confirmed}')::int,
                   waitlist_count = e.waitlist_count + (added.status = '{waitlisted}')::int,
                   updated_at = now()
              FROM added WHERE e.id = added.event_id
        ), published AS (
            INSERT INTO {outbox.fullname} (id, stream, event_type, event_key, producer, payload, request_id, created_at)
            SELECT :message_id, :message_stream, :message_type, :message_key, :message_producer,
                   :message_payload || jsonb_build_object('title', decided.title), :message_request_id, :message_at
              FROM added, decided WHERE added.status = '{held}'
        )
        SELECT * FROM added
    """  # noqa: S608
    table = Registration.__table__
    binds = [
        bindparam(name, type_=table.c[name].type)
        for name in _INSERTED
        if name not in ("status", "waitlist_position", "confirmed_at")
    ]
    binds += [
        bindparam(f"message_{name}", type_=outbox.c[column].type)
        for name, column in (
            ("id", "id"),
            ("stream", "stream"),
            ("type", "event_type"),
            ("key", "event_key"),
            ("producer", "producer"),
            ("payload", "payload"),
            ("request_id", "request_id"),
            ("at", "created_at"),
        )
    ]
    return text(sql).bindparams(*binds, bindparam("now", type_=table.c.confirmed_at.type)).columns(*table.c)


# Built once: the hot path pays neither for building them nor for their cache keys.
_REGISTRATION_FACTS = _registration_facts_statement()
_ADD_REGISTRATION = _add_registration_statement()
# The at-once path's two statements run on the driver connection (driver.py says why).
_REGISTRATION_FACTS_UNLOCKED = DriverStatement(_registration_facts_statement(lock=False))
_ADMIT_AT_ONCE = DriverStatement(_admit_at_once_statement(EVENTS.outbox))


def _facts(result: Result[Any]) -> RegistrationFacts | None:
    return _facts_of_row(result.one_or_none())


def _facts_of_row(row: Any) -> RegistrationFacts | None:
    """From a Core `Row` or the driver's `Record` (jsonb arrives decoded either way)."""
    if row is None:
        return None
    n = len(_LOCKED_EVENT_COLUMNS)
    circles, requirements, member_of, facilitating, roles, invited, registered, active_id, active_key, expired = row[n:]
    event = LockedEvent(
        **dict(zip(_LOCKED_EVENT_FIELDS, row[:n], strict=True)),
        circle_ids=list(circles or ()),
        requirements=[(kind, params) for kind, params in requirements or ()],
    )
    return RegistrationFacts(
        event=event,
        member_circles=frozenset(member_of or ()),
        facilitated_circles=frozenset(facilitating or ()),
        staff_roles=frozenset(roles or ()),
        invited=bool(invited),
        registered=bool(registered),
        active_id=active_id,
        active_key=active_key,
        expired_holds=bool(expired),
    )


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

    async def registration_facts(
        self, connection: DriverConnection, event_id: UUID, user_id: UUID, now: datetime
    ) -> RegistrationFacts | None:
        """What registering `user_id` needs, read without locking (on a driver connection outside
        a transaction: one round trip); `admit_at_once` re-checks under the lock what must hold."""
        row = await connection.fetchrow(
            _REGISTRATION_FACTS_UNLOCKED, {"event_id": event_id, "user_id": user_id, "now": now}
        )
        return _facts_of_row(row)

    async def admit_at_once(
        self,
        connection: DriverConnection,
        values: dict[str, Any],
        now: datetime,
        hold_expires_at: datetime,
        message: dict[str, Any],
    ) -> SimpleNamespace | None:
        """Insert a registration (`values`: its columns) as confirmed, held until
        `hold_expires_at` (with the outbox row `message`, see `bus.payment_required_row`) or
        waitlisted, and count it, committed, in one statement on a driver `connection`; None when
        the event needs the locked path (see `_admit_at_once_statement`). The new row's columns
        as attributes."""
        parameters = {name: values[name] for name in _INSERTED if name in values}
        # SQLAlchemy's jsonb codec on its connections decodes results but takes parameters as text.
        parameters["answers"] = json.dumps(parameters["answers"])
        row = await connection.fetchrow(
            _ADMIT_AT_ONCE, {**parameters, **message, "now": now, "hold_expires_at": hold_expires_at}
        )
        if row is None:
            return None
        return SimpleNamespace(**dict(row.items()))

    async def lock_for_registration(self, event_id: UUID, user_id: UUID, now: datetime) -> RegistrationFacts | None:
        """Lock the event row and read, in the same round trip, what registering `user_id` needs.

        Under READ COMMITTED a `FOR UPDATE` that waited returns the *latest* version of the event
        row (counters included), while the subqueries see the statement's snapshot. They are only
        used where a stale answer is safe: visibility, an early duplicate check (the partial unique
        index is the backstop) and "are there overdue holds" (a stale yes only takes the slow path,
        which reads again; a hold cannot become overdue through another transaction)."""
        # Core execution on the session's connection: no ORM identity map or loading involved.
        connection = await self.session.connection()
        return _facts(
            await connection.execute(_REGISTRATION_FACTS, {"event_id": event_id, "user_id": user_id, "now": now})
        )

    async def add_registration(
        self, values: dict[str, Any], *, seats: int, confirmed: int, waitlisted: int
    ) -> Row[Any]:
        """Insert one registration (`values`: its columns) and move the locked event's counters,
        in one statement; returns the new row with its server-set columns."""
        connection = await self.session.connection()
        parameters = {f"new_{name}": values[name] for name in _INSERTED}
        parameters.update(
            counted_event=values["event_id"], add_seats=seats, add_confirmed=confirmed, add_waitlisted=waitlisted
        )
        return (await connection.execute(_ADD_REGISTRATION, parameters)).one()

    async def type_exists(self, code: str, *, active_only: bool = False) -> bool:
        found = await self.session.get(EventType, code)
        return found is not None and (found.active or not active_only)

    async def types(self, *, active_only: bool = False) -> Sequence[EventType]:
        query = select(EventType).order_by(EventType.code)
        if active_only:
            query = query.where(EventType.active.is_(True))
        return (await self.session.scalars(query)).all()

    async def event_type(self, code: str, *, lock: bool = False) -> EventType | None:
        query = select(EventType).where(EventType.code == code)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query.execution_options(populate_existing=True))).scalar_one_or_none()

    async def type_in_use(self, code: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Event.type == code))))

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

    async def list_visible(
        self, viewer: Viewer, filters: EventFilters, *, limit: int, after: tuple[datetime, UUID] | None
    ) -> list[Event]:
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
            select(EventStaff)
            .where(EventStaff.event_id == event_id)
            .order_by(EventStaff.created_at, EventStaff.user_id)
        )
        return list(rows)

    async def staff_member(self, event_id: UUID, user_id: UUID, role: str) -> EventStaff | None:
        return await self.session.get(EventStaff, (event_id, user_id, role))


def _visible_to(viewer: Viewer) -> ColumnElement[bool]:
    attached = exists().where(EventCircle.event_id == Event.id)
    published = and_(
        Event.status != EventStatus.DRAFT,
        or_(
            Event.visibility == Visibility.PUBLIC,
            and_(
                Event.visibility == Visibility.CIRCLES,
                attached.where(EventCircle.circle_id.in_(list(viewer.member_circles))),
            ),
            and_(
                Event.visibility == Visibility.INVITED,
                exists().where(EventInvitation.event_id == Event.id, EventInvitation.user_id == viewer.user_id),
            ),
            exists().where(Registration.event_id == Event.id, Registration.user_id == viewer.user_id),
        ),
    )
    clauses = [published, exists().where(EventStaff.event_id == Event.id, EventStaff.user_id == viewer.user_id)]
    if viewer.manageable_circles:
        clauses.append(
            exists().where(EventCircle.event_id == Event.id, EventCircle.circle_id.in_(list(viewer.manageable_circles)))
        )
    return or_(*clauses)


def _filtered(query: Select[*Columns], filters: EventFilters, user_id: UUID) -> Select[*Columns]:
    if filters.type:
        query = query.where(Event.type == filters.type)
    if filters.status:
        query = query.where(Event.status == filters.status)
    if filters.starts_from:
        query = query.where(Event.starts_at >= filters.starts_from)
    if filters.starts_to:
        query = query.where(Event.starts_at < filters.starts_to)
    if filters.circle_id:
        query = query.where(
            exists().where(EventCircle.event_id == Event.id, EventCircle.circle_id == filters.circle_id)
        )
    if filters.city:
        query = query.where(func.lower(Event.city) == filters.city.lower())
    if filters.online is not None:
        query = query.where(Event.online.is_(filters.online))
    if filters.registered is not None:
        mine = exists().where(
            Registration.event_id == Event.id, Registration.user_id == user_id, Registration.status.in_(ACTIVE_STATUSES)
        )
        query = query.where(mine if filters.registered else ~mine)
    return query


class RegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def anonymise_user(self, user_id: UUID) -> None:
        """Erasure: his answers, his declared birth date and staff's reason for declining his
        application go; the registrations (seats, counts, money) stay."""
        await self.session.execute(
            update(Registration)
            .where(Registration.user_id == user_id)
            .values(answers={}, declared_birth_date=None, decline_reason=None)
        )

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
            .where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.WAITLISTED,
                Registration.waitlist_position > after,
            )
            .order_by(Registration.waitlist_position)
            .execution_options(populate_existing=True)
        )
        if limit is not None:
            query = query.limit(limit)
        return list((await self.session.scalars(query)).all())

    async def shift_waitlist(self, event_id: UUID, *, above: int, upto: int | None, delta: int) -> None:
        """Move every waiting position in (above, upto] by `delta` (the event must be locked)."""
        condition = [
            Registration.event_id == event_id,
            Registration.status == RegistrationStatus.WAITLISTED,
            Registration.waitlist_position > above,
        ]
        if upto is not None:
            condition.append(Registration.waitlist_position <= upto)
        await self.session.execute(
            update(Registration)
            .where(*condition)
            .values(waitlist_position=Registration.waitlist_position + delta)
            .execution_options(synchronize_session="fetch")
        )

    async def expired_holds(self, event_id: UUID, now: datetime) -> list[Registration]:
        query = (
            select(Registration)
            .where(
                Registration.event_id == event_id,
                Registration.status == RegistrationStatus.PENDING_PAYMENT,
                Registration.hold_expires_at <= now,
            )
            .order_by(Registration.hold_expires_at)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(query)).all())

    async def has_expired_holds(self, event_id: UUID, now: datetime) -> bool:
        return bool(
            await self.session.scalar(
                select(
                    exists().where(
                        Registration.event_id == event_id,
                        Registration.status == RegistrationStatus.PENDING_PAYMENT,
                        Registration.hold_expires_at <= now,
                    )
                )
            )
        )

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

    async def page(
        self,
        event_id: UUID,
        *,
        status: RegistrationStatus | None,
        overdue: bool | None,
        limit: int,
        after: tuple[datetime, UUID] | None,
    ) -> list[Registration]:
        query = select(Registration).where(Registration.event_id == event_id)
        if status is not None:
            query = query.where(Registration.status == status)
        if overdue is not None:
            query = query.where(
                Registration.payment_overdue_at.is_not(None) if overdue else Registration.payment_overdue_at.is_(None)
            )
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
            .where(
                Registration.event_id == event_id,
                Registration.care_user_id.is_not(None),
                Registration.status.in_(ACTIVE_STATUSES),
            )
            .order_by(Registration.created_at)
        )
        assigned: dict[UUID, list[UUID]] = {}
        for care_user_id, registration_id in rows:
            if care_user_id is None:  # excluded by the query; the column is nullable
                continue
            assigned.setdefault(care_user_id, []).append(registration_id)
        return assigned
