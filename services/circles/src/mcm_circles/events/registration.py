"""Registering for an event, reading and cancelling one's own registration.

Registration checks visibility, the registration window and every requirement *before* taking
the event's row lock (those reads need no lock), then, under the lock, decides seat or waitlist
and updates the counters in the same transaction. Under any number of concurrent requests the
lock serialises the decisions per event, so capacity can never be exceeded.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from uuid import UUID

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_shared.tokens import Principal

from mcm_circles.events import messages, seats
from mcm_circles.events.config import EventsSettings
from mcm_circles.events.directory import MemberDirectory
from mcm_circles.events.gate import EventGates
from mcm_circles.events.enums import CancelReason, EventStatus, Refund, RegistrationStatus
from mcm_circles.events.errors import (
    AlreadyRegistered, InvalidEventState, RegistrationClosed, RegistrationNotFound, RequirementsNotMet, field_error,
)
from mcm_circles.events.models import Event, Registration
from mcm_circles.events.repository import RegistrationRepository
from mcm_circles.events.requirements import evaluate, parse_spec
from mcm_circles.events.schemas_registration import RegistrationCreate
from mcm_circles.events.service import visible_event
from mcm_circles.integrity import violated_constraint


def check_open(event: Event, now: datetime) -> None:
    if event.status != EventStatus.PUBLISHED:
        raise RegistrationClosed(f"This event is {event.status}; registration is not open.")
    if event.registration_opens_at is not None and now < event.registration_opens_at:
        raise RegistrationClosed("Registration has not opened yet.",
                                 extra={"registration_opens_at": event.registration_opens_at.isoformat()})
    if now >= seats.registration_deadline(event):
        raise RegistrationClosed("Registration has closed.")


async def register(session: AsyncSession, principal: Principal, event_id: UUID, *, data: RegistrationCreate,
                   now: datetime, settings: EventsSettings, gates: EventGates,
                   idempotency_key: str | None = None) -> tuple[Registration, bool]:
    """Register the caller; returns (registration, created). A retry with the same
    Idempotency-Key returns the registration it created instead of a 409."""
    access = await visible_event(session, principal, event_id, now=now, settings=settings)
    event, user_id = access.event, access.viewer.user_id
    check_open(event, now)
    if data.sponsor_user_id is not None:
        if data.sponsor_user_id == user_id:
            raise field_error(["body", "sponsor_user_id"], "you cannot be your own sponsor")
        if not await MemberDirectory(session).exists(data.sponsor_user_id):
            raise field_error(["body", "sponsor_user_id"], "no member with that id")
    failures, answers = await evaluate(
        [parse_spec(row.kind, row.params) for row in event.requirements],
        principal=principal, directory=MemberDirectory(session), answers=data.answers,
        birth_date=data.date_of_birth, event_day=event.starts_at.date(),
    )
    if failures:
        raise RequirementsNotMet(failures)
    existing = await RegistrationRepository(session).active(event.id, user_id)
    if existing is not None:
        if idempotency_key and existing.idempotency_key == idempotency_key:
            return existing, False
        raise AlreadyRegistered(existing.id)
    await session.commit()  # end the read transaction; the decision below starts a fresh one

    async with gates.enter(event_id):
        return await _decide(session, event_id, user_id, data=data, answers=answers, now=now, settings=settings,
                             idempotency_key=idempotency_key)


async def _decide(session: AsyncSession, event_id: UUID, user_id: UUID, *, data: RegistrationCreate,
                  answers: dict, now: datetime, settings: EventsSettings,
                  idempotency_key: str | None) -> tuple[Registration, bool]:
    """Seat or waitlist, under the event's row lock, in as few round trips as possible (they
    serialise per event). A duplicate that raced past the earlier check is stopped by the
    partial unique index."""
    event = await seats.lock_event(session, event_id, now=now, settings=settings, details=False)
    check_open(event, now)
    registration = Registration(
        event_id=event.id, user_id=user_id, amount=event.price_amount, currency=event.price_currency,
        instalments=event.instalments or 1, answers=answers, declared_birth_date=data.date_of_birth,
        sponsor_user_id=data.sponsor_user_id, idempotency_key=idempotency_key,
    )
    session.add(registration)
    await seats.fill_free_seats(session, event, now=now, settings=settings)  # nobody waits beside a free seat
    if seats.free_seats(event) > 0 and event.waitlist_count == 0:
        await seats.take_seat(session, event, registration, now=now, settings=settings)
    else:
        seats.append_to_waitlist(event, registration)
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if violated_constraint(exc) != "uq_event_registrations_active":
            raise
        existing = await RegistrationRepository(session).active(event_id, user_id)
        if existing is not None and idempotency_key and existing.idempotency_key == idempotency_key:
            return existing, False
        raise AlreadyRegistered(existing.id if existing else None) from None
    return registration, True


async def my_registration(session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime,
                          settings: EventsSettings) -> Registration:
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


async def cancel_my_registration(session: AsyncSession, principal: Principal, event_id: UUID, *, now: datetime,
                                 settings: EventsSettings) -> Registration:
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


async def withdraw(session: AsyncSession, event: Event, registration: Registration, *, now: datetime,
                   reason: CancelReason, refund: Refund) -> None:
    """Cancel one active registration, free its seat or waitlist place, tell payments."""
    if registration.status == RegistrationStatus.WAITLISTED:
        await seats.leave_waitlist(session, event, registration)
    else:
        seats.release_seat(event, registration)
    registration.status = RegistrationStatus.CANCELLED
    registration.hold_expires_at = None
    registration.cancelled_at = now
    registration.cancel_reason = reason
    registration.refund = refund
    await session.flush()
    await messages.registration_cancelled(session, registration, refund=refund, reason=reason)
