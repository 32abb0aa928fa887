"""Pydantic schemas for circles (field names from ARCHITECTURE.md §11 "circle in/out")."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import AnyUrl, Field, StringConstraints, WithJsonSchema, field_validator, model_validator

from mcm_circles.schemas_common import PRINTABLE, Address, Input, Name, Output, TimeZoneName, bounded

# JSON Schema's "time" format is RFC 3339 full-time, which requires an offset; this is a wall-clock
# time whose zone is given separately, so it is documented as what it is.
LocalTime = Annotated[
    dt.time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$",
            "examples": ["19:30"],
        }
    ),
]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
Frequency = Literal["weekly", "biweekly", "monthly"]
Visibility = Literal["public", "private"]
JoinPolicy = Literal["open", "approval"]
Status = Literal["forming", "active", "full", "archived"]
Capacity = Annotated[int, Field(ge=2, le=10)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Description = Annotated[str, bounded(4000), PRINTABLE]
City = Annotated[str, bounded(100, 1), PRINTABLE]
SearchText = Annotated[str, bounded(100, 1), PRINTABLE]
MAX_DUES = 1_000_000  # minor units: 10 000.00 a month is already far beyond any real circle


class Schedule(Input):
    weekday: Weekday
    time: LocalTime = Field(description="Local start time in `timezone`, e.g. 19:30")
    timezone: TimeZoneName
    frequency: Frequency = "weekly"

    @field_validator("time")
    @classmethod
    def _naive(cls, value: dt.time) -> dt.time:
        if value.tzinfo is not None:
            raise ValueError("give the local time without an offset; the zone is in `timezone`")
        return value.replace(microsecond=0)


class Location(Input):
    city: City | None = None
    online: bool = False
    address: Address | None = Field(
        default=None, description="Where it meets; shown only to its members, facilitators and staff"
    )
    video_url: AnyUrl | None = Field(
        default=None,
        description="The video-call link of an online circle (https only); shown only to its members, "
        "facilitators and staff",
    )

    @field_validator("video_url")
    @classmethod
    def _https(cls, value: AnyUrl | None) -> AnyUrl | None:
        if value is None:
            return None
        if value.scheme != "https" or not value.host:
            raise ValueError("the video-call link must be an https:// address")
        if len(str(value)) > 500:
            raise ValueError("the video-call link is longer than 500 characters")
        if value.username or value.password:
            raise ValueError("the video-call link must not carry credentials")
        return value

    @model_validator(mode="after")
    def _somewhere(self) -> Location:
        if not self.online and not self.city:
            raise ValueError("give a city, or set online to true")
        if self.video_url is not None and not self.online:
            raise ValueError("a video-call link is for an online circle: set online to true")
        return self


class PublicLocation(Output):
    """What anyone who sees the circle learns about where it meets (listings, the circle itself)."""

    city: str | None
    online: bool


class MeetingPlace(Output):
    """Where exactly the circle meets: for its members, facilitators and staff only."""

    city: str | None
    online: bool
    address: str | None
    video_url: str | None


class Money(Input):
    amount: int = Field(gt=0, le=MAX_DUES, description="Minor units (cents)")
    currency: Currency = Field(description="ISO 4217 code, upper case")


class CircleCreate(Input):
    name: Name
    description: Description = ""
    capacity_max: Capacity = 10
    capacity_min: Capacity = 2
    schedule: Schedule
    location: Location
    visibility: Visibility = "public"
    join_policy: JoinPolicy = "open"
    dues: Money | None = None

    @model_validator(mode="after")
    def _capacity(self) -> CircleCreate:
        if self.capacity_min > self.capacity_max:
            raise ValueError("capacity_min must not exceed capacity_max")
        return self


NOT_NULLABLE = (
    "name",
    "description",
    "capacity_max",
    "capacity_min",
    "schedule",
    "location",
    "visibility",
    "join_policy",
)


class CircleUpdate(Input):
    """PATCH: only the fields sent are changed; `dues: null` removes dues."""

    name: Name | None = None
    description: Description | None = None
    capacity_max: Capacity | None = None
    capacity_min: Capacity | None = None
    schedule: Schedule | None = None
    location: Location | None = None
    visibility: Visibility | None = None
    join_policy: JoinPolicy | None = None
    dues: Money | None = None

    @model_validator(mode="after")
    def _no_nulls(self) -> CircleUpdate:
        for name in NOT_NULLABLE:
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class Facilitator(Output):
    user_id: uuid.UUID
    display_name: str


class Circle(Output):
    id: uuid.UUID
    name: str
    description: str
    capacity_max: int
    capacity_min: int
    schedule: Schedule
    location: PublicLocation = Field(description="City and online only; the address and video link: GET …/location")
    visibility: Visibility
    join_policy: JoinPolicy
    dues: Money | None
    status: Status
    member_count: int = Field(description="Active members holding a seat; facilitators do not take seats")
    open_seats: int
    facilitators: list[Facilitator]
    created_at: dt.datetime
    updated_at: dt.datetime


SortKey = Literal["name", "-name", "created_at", "-created_at", "open_seats", "-open_seats"]


class CircleQuery(Input):
    """Filters, sort and page of GET /api/v1/circles; unknown parameters are refused."""

    q: SearchText | None = Field(None, description="Text in name or description")
    city: City | None = None
    online: bool | None = None
    weekday: Weekday | None = None
    has_open_seats: bool | None = None
    facilitator: uuid.UUID | None = Field(None, description="User id of a facilitator")
    status: Status | None = Field(None, description="Default: every status except archived")
    sort: SortKey = "name"
    limit: int = Field(20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=512)] | None = None


ImportKey = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class ImportedCircleIn(Input):
    """One circle row of a bulk import: its key in the file and the circle as raw fields, checked
    here (circles owns the rules) so every row's problems come back rather than a 422 for the lot."""

    key: ImportKey
    circle: dict[str, object]


class CircleImport(Input):
    """POST /internal/v1/imports/circles (auth only): create the circles not yet imported.

    `refer` names keys the file only refers to (members of circles imported earlier); the answer
    says which of them exist. With `dry_run` nothing is written."""

    created_by: uuid.UUID
    dry_run: bool = False
    circles: list[ImportedCircleIn] = Field(default_factory=list, max_length=5000)
    refer: list[ImportKey] = Field(default_factory=list, max_length=5000)


ImportOutcome = Literal["created", "existing", "new", "invalid"]


class ImportedCircle(Output):
    key: str
    outcome: ImportOutcome = Field(description="new: would be created (dry run); existing: matched by its key")
    id: uuid.UUID | None = None
    capacity_max: int | None = None
    problems: list[str] = Field(default_factory=list)


class CircleImportResult(Output):
    circles: list[ImportedCircle]
    known: list[ImportedCircle] = Field(description="The referred keys that exist (outcome existing)")
