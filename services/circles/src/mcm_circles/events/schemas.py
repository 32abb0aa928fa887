"""Pydantic schemas of events (registrations are in `schemas_registration.py`).

Inputs forbid unknown fields; updates apply only the fields sent. Money is `{amount, currency}`
with `amount` in minor units (0 = free). Instants are timezone-aware and returned in UTC; the
IANA `timezone` says how to show them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, overload
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl, model_validator

from mcm_circles.events.enums import EventStatus, Visibility
from mcm_circles.events.requirements.service import MAX_REQUIREMENTS, RequirementSpec, question_ids_problem


def _iana(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("not an IANA time zone name (e.g. Europe/Berlin)") from None
    return name


TimeZoneName = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Berlin"]), AfterValidator(_iana)]
EventTypeCode = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,39}$", examples=["workshop"])]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Money(_In):
    amount: int = Field(ge=0, le=100_000_000, description="Minor units (cents); 0 = free")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["EUR"])


class PaymentPlan(_In):
    instalments: int = Field(ge=2, le=12)


class Location(_In):
    city: str | None = Field(default=None, min_length=1, max_length=120)
    online: bool = False
    url: HttpUrl | None = None

    @model_validator(mode="after")
    def _somewhere(self) -> Location:
        if not self.online and not self.city:
            raise ValueError("an event happens in a city, online, or both")
        return self


class _EventFields(_In):
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    timezone: TimeZoneName
    location: Location
    capacity: int = Field(ge=1, le=10_000)
    price: Money = Money(amount=0, currency="EUR")
    payment_plan: PaymentPlan | None = None
    visibility: Visibility = Visibility.PUBLIC
    requires_approval: bool = Field(
        default=False, description="Registrations wait as pending_approval (no seat) until staff approve them"
    )
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    circle_ids: list[UUID] = Field(default_factory=list, max_length=50, description="Attached circles")
    invited_user_ids: list[UUID] = Field(default_factory=list, max_length=2000)
    requirements: list[RequirementSpec] = Field(default_factory=list, max_length=MAX_REQUIREMENTS)
    requirement_template_ids: list[UUID] = Field(
        default_factory=list, max_length=10, description="Templates whose requirements are copied onto the event"
    )


class EventCreate(_EventFields):
    type: EventTypeCode

    @model_validator(mode="after")
    def _consistent(self) -> EventCreate:
        problem = schedule_problem({**self.model_dump(exclude={"requirements"}), "requirements": self.requirements})
        if problem:
            raise ValueError(problem)
        return self


class EventUpdate(_In):
    """Every field optional; the merged event is checked as a whole by the service."""

    type: EventTypeCode | None = None
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=20_000)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    timezone: TimeZoneName | None = None
    location: Location | None = None
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    price: Money | None = None
    payment_plan: PaymentPlan | None = None
    visibility: Visibility | None = None
    requires_approval: bool | None = None
    registration_opens_at: AwareDatetime | None = None
    registration_closes_at: AwareDatetime | None = None
    circle_ids: list[UUID] | None = Field(default=None, max_length=50)
    invited_user_ids: list[UUID] | None = Field(default=None, max_length=2000)
    requirements: list[RequirementSpec] | None = Field(default=None, max_length=MAX_REQUIREMENTS)
    requirement_template_ids: list[UUID] | None = Field(default=None, max_length=10)


@overload
def _aware(value: datetime) -> datetime: ...
@overload
def _aware(value: datetime | None) -> datetime | None: ...
def _aware(value: datetime | None) -> datetime | None:
    """Stored values come back aware; a naive one (never from a client) is read as UTC."""
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def schedule_problem(values: dict[str, Any]) -> str | None:
    """Cross-field rules shared by create and (merged) update; None when consistent."""
    starts: datetime = _aware(values["starts_at"])
    ends: datetime = _aware(values["ends_at"])
    opens, closes = _aware(values.get("registration_opens_at")), _aware(values.get("registration_closes_at"))
    price, plan = values.get("price") or {}, values.get("payment_plan")
    if ends <= starts:
        return "ends_at must be after starts_at"
    if opens is not None and closes is not None and opens >= closes:
        return "registration_opens_at must be before registration_closes_at"
    if closes is not None and closes > ends:
        return "registration_closes_at must not be after ends_at"
    if opens is not None and opens >= ends:
        return "registration_opens_at must be before ends_at"
    if plan is not None and not price.get("amount"):
        return "a payment plan needs a price above zero"
    if values.get("visibility") == Visibility.CIRCLES and not values.get("circle_ids"):
        return "visibility 'circles' needs at least one circle in circle_ids"
    return question_ids_problem(values.get("requirements") or [])


class Event(BaseModel):
    id: UUID
    type: str
    title: str
    description: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    location: dict[str, Any]
    capacity: int
    price: dict[str, Any]
    payment_plan: dict[str, int] | None
    visibility: Visibility
    requires_approval: bool
    registration_opens_at: datetime | None
    registration_closes_at: datetime | None
    requirements: list[RequirementSpec]
    circle_ids: list[UUID]
    invited_user_ids: list[UUID] | None = Field(description="Only shown to the event's managers")
    status: EventStatus
    confirmed_count: int
    waitlist_count: int
    seats_available: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    cancelled_at: datetime | None


class EventCancel(_In):
    reason: str = Field(default="", max_length=1000)


class EventType(BaseModel):
    code: str
    label: str
    active: bool = Field(description="Inactive types stay on existing events; new events cannot take them")


class EventTypeCreate(_In):
    code: EventTypeCode
    label: str = Field(min_length=1, max_length=80)


class EventTypeUpdate(_In):
    label: str | None = Field(default=None, min_length=1, max_length=80)
    active: bool | None = None


class RequirementTemplateCreate(_In):
    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    requirements: list[RequirementSpec] = Field(min_length=1, max_length=MAX_REQUIREMENTS)

    @model_validator(mode="after")
    def _unique_questions(self) -> RequirementTemplateCreate:
        problem = question_ids_problem(self.requirements)
        if problem:
            raise ValueError(problem)
        return self


class RequirementTemplate(BaseModel):
    id: UUID
    name: str
    description: str
    requirements: list[RequirementSpec]
    created_at: datetime


class EventInvitationAuthority(BaseModel):
    """Answer of the internal route auth asks before sending an event-staff invitation."""

    event_open: bool
