"""The closed vocabularies of events, each defined once (the database CHECKs use the same values)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class EventStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


class Visibility(StrEnum):
    PUBLIC = "public"  # every signed-in person
    CIRCLES = "circles"  # members of the circles the event is attached to
    INVITED = "invited"  # the invited user ids


class RegistrationStatus(StrEnum):
    CONFIRMED = "confirmed"
    PENDING_PAYMENT = "pending_payment"  # holds a seat until hold_expires_at
    WAITLISTED = "waitlisted"
    CANCELLED = "cancelled"
    EXPIRED = "expired"  # the seat hold ran out before payment
    PENDING_APPROVAL = "pending_approval"  # applied to an event that requires approval; takes no seat
    DECLINED = "declined"  # staff declined the application


# One of these per person and event at most (partial unique index `uq_event_registrations_active`).
ACTIVE_STATUSES = (
    RegistrationStatus.CONFIRMED,
    RegistrationStatus.PENDING_PAYMENT,
    RegistrationStatus.WAITLISTED,
    RegistrationStatus.PENDING_APPROVAL,
)
SEAT_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.PENDING_PAYMENT)


class StaffRole(StrEnum):
    FACILITATOR = "facilitator"
    PTM = "ptm"
    CARE_TEAM = "care_team"
    SUPPORT = "support"


class Refund(StrEnum):
    FULL = "full"
    NONE = "none"


class CancelReason(StrEnum):
    BY_PARTICIPANT = "by_participant"
    BY_STAFF = "by_staff"
    EVENT_CANCELLED = "event_cancelled"
    NO_SEAT_AFTER_PAYMENT = "no_seat_after_payment"


# The seed of the `event_types` lookup table (migration 0003). New types are added by a
# migration inserting a row; nothing in the code lists them.
SEED_EVENT_TYPES = {
    "movie_night": "Movie night",
    "workshop": "Workshop",
    "day_retreat": "Day retreat",
    "multi_day_retreat": "Multi-day retreat",
    "meetup": "Meetup",
}


def sql_in(values: Iterable[object]) -> str:
    """`'a', 'b'` for a CHECK constraint built from an enum."""
    return ", ".join(f"'{value}'" for value in values)
