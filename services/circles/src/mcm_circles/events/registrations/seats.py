"""Seat and waitlist accounting: the one place that changes `seats_taken`, `confirmed_count`,
`waitlist_count` and waitlist positions.

Every function here runs with the event row locked (`lock_event`), in the caller's transaction,
so counters and rows change together; the CHECK `seats_taken <= capacity` is the backstop that
makes an overbooking bug fail loudly instead of selling a seat twice. Waitlist positions are
dense (1..n) per event.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from mcm_circles.config import EventsSettings
from mcm_circles.events import bus as messages
from mcm_circles.events.enums import EventStatus, RegistrationStatus
from mcm_circles.events.errors import EventNotFound
from mcm_circles.events.locked import LockedEvent
from mcm_circles.events.models import Event, Registration
from mcm_circles.events.repository import EventRepository, RegistrationRepository


async def lock_event(
    session: AsyncSession, event_id: UUID, *, now: datetime, settings: EventsSettings, details: bool = True
) -> Event:
    """Lock the event row and bring it up to date (expired holds released, seats refilled).

    `details=False` skips loading circles, invitations and requirements: the hot registration
    path holds the lock for as few round trips as possible."""
    event = await EventRepository(session).lock(event_id, details=details)
    if event is None:
        raise EventNotFound()
    await expire_due_holds(session, event, now=now, settings=settings)
    return event


def free_seats(event: Event | LockedEvent) -> int:
    return event.capacity - event.seats_taken


def registration_deadline(event: Event | LockedEvent) -> datetime:
    return event.registration_closes_at or event.starts_at


def promotable(event: Event, now: datetime) -> bool:
    """Freed seats go to the waitlist while the event is published, until it starts or, if
    registration closes later than that, until registration closes."""
    return event.status == EventStatus.PUBLISHED and now < max(event.starts_at, registration_deadline(event))


async def take_seat(
    session: AsyncSession, event: Event, registration: Registration, *, now: datetime, settings: EventsSettings
) -> None:
    """Give `registration` a seat: confirmed when free (or already paid), else held for payment."""
    event.seats_taken += 1
    registration.waitlist_position = None
    if registration.amount == 0 or registration.paid_at is not None:
        registration.status = RegistrationStatus.CONFIRMED
        registration.hold_expires_at = None
        registration.confirmed_at = now
        event.confirmed_count += 1
        return
    registration.status = RegistrationStatus.PENDING_PAYMENT
    registration.hold_expires_at = now + timedelta(minutes=settings.hold_minutes)
    await session.flush()
    await messages.payment_required(session, event, registration)


def quick_decision(event: LockedEvent, *, overdue_holds: bool) -> RegistrationStatus | None:
    """What a new registration gets, decided from the locked counters alone; None when the event
    must first be brought up to date (overdue holds to release, or people waiting beside a free
    seat) by `lock_event` and `fill_free_seats`. Both ways give the newcomer the same answer."""
    if overdue_holds:
        return None
    if free_seats(event) > 0:
        if event.waitlist_count > 0:
            return None
        return RegistrationStatus.CONFIRMED if event.is_free else RegistrationStatus.PENDING_PAYMENT
    return RegistrationStatus.WAITLISTED


async def admit(
    session: AsyncSession,
    event: LockedEvent,
    status: RegistrationStatus,
    values: dict[str, Any],
    *,
    now: datetime,
    settings: EventsSettings,
) -> Row[Any]:
    """Insert a new registration with the `quick_decision` status and count it, in one statement
    (the same outcome as `take_seat` / `append_to_waitlist` on an ORM registration)."""
    seat = status != RegistrationStatus.WAITLISTED
    values = {
        **values,
        "status": status,
        "waitlist_position": None if seat else event.waitlist_count + 1,
        "hold_expires_at": now + timedelta(minutes=settings.hold_minutes)
        if status == RegistrationStatus.PENDING_PAYMENT
        else None,
        "confirmed_at": now if status == RegistrationStatus.CONFIRMED else None,
    }
    row = await EventRepository(session).add_registration(
        values,
        seats=int(seat),
        confirmed=int(status == RegistrationStatus.CONFIRMED),
        waitlisted=int(not seat),
    )
    if status == RegistrationStatus.PENDING_PAYMENT:
        await messages.payment_required(session, event, row)
    return row


async def apply_for_approval(session: AsyncSession, values: dict[str, Any]) -> Row[Any]:
    """Insert an application to an event that requires approval: `pending_approval`, no seat,
    no waitlist place, no counter moves (it takes a seat or a place only when approved)."""
    values = {
        **values,
        "status": RegistrationStatus.PENDING_APPROVAL,
        "waitlist_position": None,
        "hold_expires_at": None,
        "confirmed_at": None,
    }
    return await EventRepository(session).add_registration(values, seats=0, confirmed=0, waitlisted=0)


async def seat_or_waitlist(
    session: AsyncSession, event: Event, registration: Registration, *, now: datetime, settings: EventsSettings
) -> None:
    """Place a newcomer (or an approved application) as registering does: the waiting people
    first take any free seats, then he gets a seat if one is left, else the end of the waitlist.
    A new `registration` is added to the session only after the promotions (which flush): it has
    no status before the decision."""
    await fill_free_seats(session, event, now=now, settings=settings)
    session.add(registration)
    if free_seats(event) > 0 and event.waitlist_count == 0:
        await take_seat(session, event, registration, now=now, settings=settings)
    else:
        append_to_waitlist(event, registration)
    await session.flush()


def confirm_held(event: Event, registration: Registration, *, now: datetime) -> None:
    """A held seat was paid for: it becomes a confirmed one (the seat is already counted)."""
    registration.status = RegistrationStatus.CONFIRMED
    registration.hold_expires_at = None
    registration.confirmed_at = now
    event.confirmed_count += 1


def release_seat(event: Event, registration: Registration) -> None:
    if registration.status == RegistrationStatus.CONFIRMED:
        event.confirmed_count -= 1
    event.seats_taken -= 1


def append_to_waitlist(event: Event, registration: Registration) -> None:
    event.waitlist_count += 1
    registration.status = RegistrationStatus.WAITLISTED
    registration.waitlist_position = event.waitlist_count
    registration.hold_expires_at = None


async def leave_waitlist(session: AsyncSession, event: Event, registration: Registration) -> None:
    """Take `registration` off the list and close the gap. The caller sets its new status before
    anything is flushed (a waitlisted row must keep a position: CHECK constraint)."""
    position = registration.waitlist_position
    if position is None:
        raise RuntimeError("a waitlisted registration has no position")
    # Shift first: the deferred unique constraint tolerates the moment two rows share a position.
    await RegistrationRepository(session).shift_waitlist(event.id, above=position, upto=None, delta=-1)
    registration.waitlist_position = None
    event.waitlist_count -= 1


async def move_in_waitlist(session: AsyncSession, event: Event, registration: Registration, position: int) -> None:
    old = registration.waitlist_position
    if old is None:
        raise RuntimeError("a waitlisted registration has no position")
    new = max(1, min(position, event.waitlist_count))
    if new == old:
        return
    repository = RegistrationRepository(session)
    if new < old:
        await repository.shift_waitlist(event.id, above=new - 1, upto=old - 1, delta=1)
    else:
        await repository.shift_waitlist(event.id, above=old, upto=new, delta=-1)
    registration.waitlist_position = new
    await session.flush()


async def fill_free_seats(
    session: AsyncSession, event: Event, *, now: datetime, settings: EventsSettings
) -> list[Registration]:
    """Promote the first waiting people into free seats, in order, and tell each of them."""
    promoted: list[Registration] = []
    repository = RegistrationRepository(session)
    while free_seats(event) > 0 and event.waitlist_count > 0 and promotable(event, now):
        waiting = await repository.waitlist(event.id, limit=1)
        if not waiting:
            break
        await promote(session, event, waiting[0], now=now, settings=settings)
        promoted.append(waiting[0])
    return promoted


async def promote(
    session: AsyncSession, event: Event, registration: Registration, *, now: datetime, settings: EventsSettings
) -> None:
    await leave_waitlist(session, event, registration)
    await take_seat(session, event, registration, now=now, settings=settings)
    await session.flush()
    await messages.promoted(session, event, registration)


async def expire_due_holds(session: AsyncSession, event: Event, *, now: datetime, settings: EventsSettings) -> int:
    """Release every seat whose payment hold ran out, then hand the seats to the waitlist."""
    if event.is_free:
        return 0  # the price never changes once published, so a free event has no holds
    expired = await RegistrationRepository(session).expired_holds(event.id, now)
    for registration in expired:
        release_seat(event, registration)
        registration.status = RegistrationStatus.EXPIRED
        await session.flush()
        await messages.registration_expired(session, event, registration)
    if expired:
        await fill_free_seats(session, event, now=now, settings=settings)
    return len(expired)
