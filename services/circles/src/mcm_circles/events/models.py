"""SQLAlchemy models of the events context (tables created by migration 0003).

Concurrency rules live in the database: `seats_taken <= capacity` is a CHECK, one active
registration per person and event is a partial unique index, and every change to an event's
seats or waitlist happens with that event's row locked (see `seats.py`).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mcm_circles.db import Base
from mcm_circles.events.enums import (
    ACTIVE_STATUSES,
    EventStatus,
    RegistrationStatus,
    StaffRole,
    Visibility,
    sql_in,
)
from mcm_shared.db import Entity, TimestampedMixin


class EventType(Base):
    """Lookup table of event types, managed by admins (`/api/v1/event-types`). A type in use is
    deactivated, never deleted: existing events keep it, new events cannot take it."""

    __tablename__ = "event_types"
    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(default=True, server_default=text("true"))


class Event(Entity, Base):
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class); server-set timestamps readable after flush
    __tablename__ = "events"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        CheckConstraint("confirmed_count >= 0 AND confirmed_count <= seats_taken", name="confirmed_within_seats"),
        CheckConstraint("waitlist_count >= 0", name="waitlist_count_nonnegative"),
        CheckConstraint("price_amount >= 0", name="price_nonnegative"),
        CheckConstraint("price_currency ~ '^[A-Z]{3}$'", name="currency_iso"),
        CheckConstraint(
            "instalments IS NULL OR (instalments BETWEEN 2 AND 12 AND price_amount > 0)", name="payment_plan"
        ),
        CheckConstraint(
            "registration_opens_at IS NULL OR registration_closes_at IS NULL "
            "OR registration_opens_at < registration_closes_at",
            name="registration_window",
        ),
        CheckConstraint(f"visibility IN ({sql_in(Visibility)})", name="visibility"),
        CheckConstraint(f"status IN ({sql_in(EventStatus)})", name="status"),
        Index("ix_events_starts_at_id", "starts_at", "id"),
        Index("ix_events_status", "status"),
    )

    type: Mapped[str] = mapped_column(String(40), ForeignKey("event_types.code"))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    timezone: Mapped[str] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(120))
    online: Mapped[bool] = mapped_column(default=False)
    url: Mapped[str | None] = mapped_column(String(2000))
    capacity: Mapped[int] = mapped_column(Integer)
    price_amount: Mapped[int] = mapped_column(Integer, default=0)
    price_currency: Mapped[str] = mapped_column(String(3), default="EUR")
    instalments: Mapped[int | None] = mapped_column(Integer)
    registration_opens_at: Mapped[datetime | None]
    registration_closes_at: Mapped[datetime | None]
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.PUBLIC.value)
    # Registrations start as `pending_approval` (no seat) until staff approve or decline them.
    requires_approval: Mapped[bool] = mapped_column(default=False, server_default=text("false"))
    status: Mapped[str] = mapped_column(String(16), default=EventStatus.DRAFT.value)
    seats_taken: Mapped[int] = mapped_column(Integer, default=0)
    confirmed_count: Mapped[int] = mapped_column(Integer, default=0)
    waitlist_count: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[uuid.UUID]
    published_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)

    circle_links: Mapped[list[EventCircle]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EventCircle.circle_id"
    )
    invitations: Mapped[list[EventInvitation]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EventInvitation.user_id"
    )
    requirements: Mapped[list[EventRequirement]] = relationship(
        lazy="raise", cascade="all, delete-orphan", order_by="EventRequirement.position"
    )

    @property
    def is_free(self) -> bool:
        return self.price_amount == 0

    @property
    def circle_ids(self) -> list[uuid.UUID]:
        return [link.circle_id for link in self.circle_links]

    @property
    def invited_user_ids(self) -> list[uuid.UUID]:
        return [invitation.user_id for invitation in self.invitations]


class EventCircle(Base):
    """The circles an event is attached to: its audience (visibility `circles`) and the circles
    whose facilitators may manage it."""

    __tablename__ = "event_circles"
    __table_args__ = (Index("ix_event_circles_circle_id", "circle_id"),)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    circle_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class EventInvitation(Base):
    __tablename__ = "event_invitations"
    __table_args__ = (Index("ix_event_invitations_user_id", "user_id"),)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)


class EventRequirement(Base):
    """One typed requirement; `params` is validated by `requirements.RequirementSpec`."""

    __tablename__ = "event_requirements"
    __table_args__ = (UniqueConstraint("event_id", "position", name="uq_event_requirements_event_position"),)
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(40))
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class RequirementTemplate(Entity, Base):
    """A named, reusable list of requirements; events copy it when created or edited."""

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class); server-set timestamps readable after flush
    __tablename__ = "event_requirement_templates"
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    requirements: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    created_by: Mapped[uuid.UUID]


_ACTIVE = f"status IN ({sql_in(ACTIVE_STATUSES)})"


class Registration(Entity, Base):
    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class); server-set timestamps readable after flush
    __tablename__ = "event_registrations"
    __table_args__ = (
        CheckConstraint(f"status IN ({sql_in(RegistrationStatus)})", name="status"),
        CheckConstraint("(status = 'waitlisted') = (waitlist_position IS NOT NULL)", name="waitlist_position"),
        CheckConstraint("status <> 'pending_payment' OR hold_expires_at IS NOT NULL", name="hold_has_expiry"),
        CheckConstraint("waitlist_position IS NULL OR waitlist_position > 0", name="waitlist_position_positive"),
        CheckConstraint("sponsor_user_id IS NULL OR sponsor_user_id <> user_id", name="sponsor_not_self"),
        Index("uq_event_registrations_active", "event_id", "user_id", unique=True, postgresql_where=text(_ACTIVE)),
        # Positions are dense (1..n) per event; deferred so shifting a whole list in one UPDATE works.
        UniqueConstraint(
            "event_id",
            "waitlist_position",
            name="uq_event_registrations_waitlist_position",
            deferrable=True,
            initially="DEFERRED",
        ),
        Index("ix_event_registrations_holds", "hold_expires_at", postgresql_where=text("status = 'pending_payment'")),
        Index("ix_event_registrations_user_id", "user_id"),
        Index("ix_event_registrations_event_created", "event_id", "created_at", "id"),
    )

    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID]
    status: Mapped[str] = mapped_column(String(20))
    waitlist_position: Mapped[int | None] = mapped_column(Integer)
    hold_expires_at: Mapped[datetime | None]
    # The price as it was when the person registered: later edits never change what they owe.
    amount: Mapped[int] = mapped_column(Integer, default=0)
    currency: Mapped[str] = mapped_column(String(3))
    instalments: Mapped[int] = mapped_column(Integer, default=1)
    sponsor_user_id: Mapped[uuid.UUID | None]
    care_user_id: Mapped[uuid.UUID | None]
    answers: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    declared_birth_date: Mapped[date | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    confirmed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    payment_overdue_at: Mapped[datetime | None]
    # occurred_at of the last payments event applied: a late, older event never undoes a newer one.
    payment_event_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(String(40))
    refund: Mapped[str | None] = mapped_column(String(10))
    decline_reason: Mapped[str | None] = mapped_column(Text)
    checked_in_at: Mapped[datetime | None]
    checked_in_by: Mapped[uuid.UUID | None]
    # Waitlist history for the event report, set by a database trigger (migration 0009_reports)
    # whatever path changed the status: ever waitlisted, and when a seat came from the waitlist.
    waitlisted_at: Mapped[datetime | None]
    promoted_at: Mapped[datetime | None]


class EventStaff(TimestampedMixin, Base):
    """People who run an event; not registrations, so never counted against capacity."""

    __mapper_args__ = {"eager_defaults": True}  # noqa: RUF012 (SQLAlchemy reads it from the class); server-set timestamps readable after flush
    __tablename__ = "event_staff"
    __table_args__ = (
        CheckConstraint(f"role IN ({sql_in(StaffRole)})", name="role"),
        Index("ix_event_staff_user_id", "user_id"),
    )
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(20), primary_key=True)
    added_by: Mapped[uuid.UUID]
