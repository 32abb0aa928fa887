"""Registering for an event, reading and cancelling one's own registration.

Registration is one transaction that starts by locking the event row, reading in the same
statement everything the checks need (visibility, window, requirements, an existing registration,
overdue holds); then it decides seat or waitlist and updates the counters. Under any number of
concurrent requests the lock serialises the decisions per event, so capacity can never be exceeded.
The hot path uses Core statements (one to lock and read, one to insert and count); whenever the
event needs bringing up to date first (overdue holds, people waiting beside a free seat) it takes
the ORM path through `seats`, which gives the newcomer the same answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import Row
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.actors import actor_id
from mcm_circles.config import EventsSettings
from mcm_circles.events import bus as messages
from mcm_circles.events.access import EventAccess, Viewer, ensure_visible
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.enums import CancelReason, EventStatus, Refund, RegistrationStatus
from mcm_circles.events.errors import (
    AlreadyRegistered,
    EventNotFound,
    InvalidEventState,
    RegistrationClosed,
    RegistrationNotFound,
    RequirementsNotMet,
    field_error,
)
from mcm_circles.events.locked import LockedEvent
from mcm_circles.events.models import Event, Registration
from mcm_circles.events.registrations import seats
from mcm_circles.events.registrations.schemas import RegistrationCreate
from mcm_circles.events.repository import EventRepository, RegistrationFacts, RegistrationRepository
from mcm_circles.events.requirements.service import evaluate, parse_spec
from mcm_circles.events.service import visible_event
from mcm_circles.gate import EventGates
from mcm_circles.integrity import violated_constraint
from mcm_shared.driver import driver_connection
from mcm_shared.security import Principal


def check_open(event: Event | LockedEvent, now: datetime) -> None:
    if event.status != EventStatus.PUBLISHED:
        raise RegistrationClosed(f"This event is {event.status}; registration is not open.")
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        raise RegistrationClosed(
            "Registration has not opened yet.", extra={"registration_opens_at": event.registration_opens_at.isoformat()}
        )
    if now >= seats.registration_deadline(event):
        raise RegistrationClosed("Registration has closed.")


async def register(
    session: AsyncSession,
    principal: Principal,
    event_id: UUID,
    *,
    data: RegistrationCreate,
    now: datetime,
    settings: EventsSettings,
    gates: EventGates,
    idempotency_key: str | None = None,
) -> tuple[Registration | Row[Any] | SimpleNamespace, bool]:
    """Register the caller; returns (registration, created). A retry with the same
    Idempotency-Key returns the registration it created instead of a 409."""
    user_id = actor_id(principal)
    async with gates.admissions:
        admitted = await _register_at_once(
            session,
            principal,
            user_id,
            event_id,
            data=data,
            now=now,
            settings=settings,
            idempotency_key=idempotency_key,
        )
    if admitted is not None:
        return admitted, True
    async with gates.enter(event_id):
        try:
            return await _register(
                session,
                principal,
                user_id,
                event_id,
                data=data,
                now=now,
                settings=settings,
                idempotency_key=idempotency_key,
            )
        except Exception:
            await session.rollback()  # release the row lock before the next in the gate needs it
            raise


async def _register_at_once(
    session: AsyncSession,
    principal: Principal,
    user_id: UUID,
    event_id: UUID,
    *,
    data: RegistrationCreate,
    now: datetime,
    settings: EventsSettings,
    idempotency_key: str | None,
) -> SimpleNamespace | None:
    """The at-once path: the checks on facts read without a lock, then one autocommitted
    statement that confirms, holds a seat for payment (with its outbox message) or waitlists.
    None when the locked path must decide (it checks again)."""
    if session.bind is None:
        raise RuntimeError("the session is not bound to an engine")
    async with driver_connection(session.bind) as connection:  # type: ignore[arg-type]
        repository = EventRepository(session)
        facts = await repository.registration_facts(connection, event_id, user_id, now)
        if facts is None:
            raise EventNotFound()
        values = await _checked_values(
            session, principal, user_id, facts, data=data, now=now, idempotency_key=idempotency_key
        )
        quick = seats.quick_decision(facts.event, overdue_holds=facts.expired_holds)
        if facts.active_id is not None or facts.event.requires_approval or quick is None:
            return None  # a retry or a duplicate, an application, an event to bring up to date
        hold_expires_at = now + timedelta(minutes=settings.hold_minutes)
        message = (  # only when a held seat is expected: the statement holds a seat only with one
            messages.payment_required_row(SimpleNamespace(**values, hold_expires_at=hold_expires_at))
            if quick == RegistrationStatus.PENDING_PAYMENT
            else messages.NO_MESSAGE_ROW
        )
        try:
            return await repository.admit_at_once(connection, values, now, hold_expires_at, message)
        except IntegrityError as exc:
            if violated_constraint(exc) != "uq_event_registrations_active":
                raise
            return None  # registered meanwhile: the locked path answers (the retry's registration, or 409)


async def _checked_values(
    session: AsyncSession,
    principal: Principal,
    user_id: UUID,
    facts: RegistrationFacts,
    *,
    data: RegistrationCreate,
    now: datetime,
    idempotency_key: str | None,
) -> dict[str, Any]:
    """Every check a registration must pass (visibility, window, sponsor, requirements) on
    `facts`; returns the new registration's columns."""
    event = facts.event
    viewer = Viewer(principal, user_id, facts.member_circles, facts.facilitated_circles)
    ensure_visible(
        EventAccess(
            viewer=viewer,
            event=event,
            staff_roles=facts.staff_roles,
            invited=facts.invited,
            registered=facts.registered,
        )
    )
    check_open(event, now)
    if data.sponsor_user_id is not None:
        if data.sponsor_user_id == user_id:
            raise field_error(["body", "sponsor_user_id"], "you cannot be your own sponsor")
        if not await MemberDirectory(session).exists(data.sponsor_user_id):
            raise field_error(["body", "sponsor_user_id"], "no member with that id")
    answers: dict[str, Any] = {}
    if event.requirements or data.answers:
        failures, answers = await evaluate(
            [parse_spec(kind, params) for kind, params in event.requirements],
            principal=principal,
            directory=MemberDirectory(session),
            answers=data.answers,
            birth_date=data.date_of_birth,
            event_day=event.starts_at.date(),
        )
        if failures:
            raise RequirementsNotMet(failures)
    return {
        "id": uuid4(),
        "event_id": event.id,
        "user_id": user_id,
        "amount": event.price_amount,
        "currency": event.price_currency,
        "instalments": event.instalments or 1,
        "answers": answers,
        "declared_birth_date": data.date_of_birth,
        "sponsor_user_id": data.sponsor_user_id,
        "idempotency_key": idempotency_key,
    }


async def _register(
    session: AsyncSession,
    principal: Principal,
    user_id: UUID,
    event_id: UUID,
    *,
    data: RegistrationCreate,
    now: datetime,
    settings: EventsSettings,
    idempotency_key: str | None,
) -> tuple[Registration | Row[Any], bool]:
    """The locked path: one transaction, the event row locked from its first statement, the
    checks, then seat or waitlist. In the usual case three round trips besides BEGIN (lock and
    read, insert and count, commit)."""
    facts = await EventRepository(session).lock_for_registration(event_id, user_id, now)
    if facts is None:
        raise EventNotFound()
    event = facts.event
    values = await _checked_values(
        session, principal, user_id, facts, data=data, now=now, idempotency_key=idempotency_key
    )
    if facts.active_id is not None:
        if idempotency_key and facts.active_key == idempotency_key:
            existing = await RegistrationRepository(session).active(event_id, user_id)
            await session.commit()  # nothing written; ends the lock (a rollback would expire `existing`)
            if existing is not None:
                return existing, False
        raise AlreadyRegistered(facts.active_id)
    try:
        status = seats.quick_decision(event, overdue_holds=facts.expired_holds)
        row: Registration | Row[Any]
        if event.requires_approval:
            row = await seats.apply_for_approval(session, values)  # no seat until staff approve
        elif status is not None:
            row = await seats.admit(session, event, status, values, now=now, settings=settings)
        else:
            row = await _decide(session, event_id, values, now=now, settings=settings)
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if violated_constraint(exc) != "uq_event_registrations_active":
            raise
        existing = await RegistrationRepository(session).active(event_id, user_id)
        if existing is not None and idempotency_key and existing.idempotency_key == idempotency_key:
            return existing, False
        raise AlreadyRegistered(existing.id if existing else None) from None
    return row, True


async def _decide(
    session: AsyncSession, event_id: UUID, values: dict[str, Any], *, now: datetime, settings: EventsSettings
) -> Registration:
    """The slow path, when the event needs bringing up to date first: overdue holds released,
    waiting people moved into free seats, then seat or waitlist for the newcomer."""
    event = await seats.lock_event(session, event_id, now=now, settings=settings, details=False)
    check_open(event, now)
    await seats.fill_free_seats(session, event, now=now, settings=settings)  # nobody waits beside a free seat
    registration = Registration(**values)
    session.add(registration)  # after the promotions: it has no status to flush before the decision
    if seats.free_seats(event) > 0 and event.waitlist_count == 0:
        await seats.take_seat(session, event, registration, now=now, settings=settings)
    else:
        seats.append_to_waitlist(event, registration)
    await session.flush()
    return registration


def registration_values(event: Event, user_id: UUID, **more: object) -> dict[str, Any]:
    """The columns of a new registration of `user_id` at the event's current price."""
    return {
        "id": uuid4(),
        "event_id": event.id,
        "user_id": user_id,
        "amount": event.price_amount,
        "currency": event.price_currency,
        "instalments": event.instalments or 1,
        "answers": {},
        "declared_birth_date": None,
        "sponsor_user_id": None,
        "idempotency_key": None,
        **more,
    }


async def my_registration(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> Registration:
    """The caller's latest registration for the event (active, or else the last one that ended)."""
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    registrations = RegistrationRepository(session)
    registration = await registrations.active(event_id, access.viewer.user_id) or await registrations.latest(
        event_id, access.viewer.user_id
    )
    if registration is None:
        raise RegistrationNotFound()
    return registration


def refund_for(event: Event, registration: Registration, *, now: datetime, settings: EventsSettings) -> Refund:
    """Full refund of what was paid until the cut-off before the start; nothing after it."""
    if registration.amount == 0 or registration.paid_at is None:
        return Refund.NONE
    cutoff = event.starts_at - timedelta(hours=settings.refund_cutoff_hours)
    return Refund.FULL if now < cutoff else Refund.NONE


async def cancel_my_registration(
    session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime, settings: EventsSettings
) -> Registration:
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    event = await seats.lock_event(session, event_id, now=now, settings=settings)
    registration = await RegistrationRepository(session).active(event.id, access.viewer.user_id)
    if registration is None:
        raise RegistrationNotFound()
    if event.status == EventStatus.COMPLETED or now >= event.ends_at:
        raise InvalidEventState("The event is over; the registration can no longer be cancelled.")
    refund = refund_for(event, registration, now=now, settings=settings)
    await withdraw(session, event, registration, now=now, reason=CancelReason.BY_PARTICIPANT, refund=refund)
    await seats.fill_free_seats(session, event, now=now, settings=settings)
    await session.commit()
    return registration


async def withdraw(
    session: AsyncSession,
    event: Event,
    registration: Registration,
    *,
    now: datetime,
    reason: CancelReason,
    refund: Refund,
) -> None:
    """Cancel one active registration, free its seat or waitlist place, tell payments (an
    application still waiting for approval held nothing and owed nothing: payments never heard of it)."""
    applied = registration.status == RegistrationStatus.PENDING_APPROVAL
    if registration.status == RegistrationStatus.WAITLISTED:
        await seats.leave_waitlist(session, event, registration)
    elif not applied:
        seats.release_seat(event, registration)
    registration.status = RegistrationStatus.CANCELLED
    registration.hold_expires_at = None
    registration.cancelled_at = now
    registration.cancel_reason = reason
    registration.refund = refund
    await session.flush()
    if not applied:
        await messages.registration_cancelled(session, registration, refund=refund, reason=reason)


async def anonymise_user(session: AsyncSession, user_id: UUID) -> None:
    """Erasure: the answers he gave and the birth date he declared go; every registration row
    (seats, waitlists, money) stays."""
    await RegistrationRepository(session).anonymise_user(user_id)
