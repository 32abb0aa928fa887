"""Pydantic schemas of registrations, waitlists, staff and check-in."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mcm_circles.events.enums import CancelReason, Refund, RegistrationStatus, StaffRole

AnswerKey = Annotated[str, Field(pattern=r"^[a-z0-9_]{1,40}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RegistrationCreate(_In):
    answers: dict[AnswerKey, str | None] = Field(
        default_factory=dict, max_length=50, description="Answers to the event's questions, by question id"
    )
    date_of_birth: date | None = Field(default=None, description="Declared, for events with a minimum age")
    sponsor_user_id: UUID | None = Field(default=None, description="The member who referred you")
    user_id: UUID | None = Field(
        default=None,
        description="Staff only: register this member on his behalf (the event's managers: ptm, admin, "
        "facilitators of an attached circle). The event's requirements are the staff's call then: "
        "answers and date of birth are not taken.",
    )
    reason: str | None = Field(default=None, max_length=500, description="Staff only: why, for the audit trail")

    @model_validator(mode="after")
    def _on_behalf_takes_no_personal_answers(self) -> RegistrationCreate:
        if self.user_id is None and self.reason is not None:
            raise ValueError("reason goes with user_id (a registration on someone's behalf)")
        if self.user_id is not None and (self.answers or self.date_of_birth is not None):
            raise ValueError("a registration on someone's behalf takes no answers or date of birth")
        return self


class Decline(_In):
    reason: str = Field(min_length=1, max_length=1000, description="Told to the member")


class Approve(_In):
    reason: str | None = Field(default=None, max_length=1000, description="For the audit trail")


class Registration(BaseModel):
    """A person's own view of his registration."""

    id: UUID
    event_id: UUID
    status: RegistrationStatus
    waitlist_position: int | None
    hold_expires_at: datetime | None
    price: dict[str, Any]
    instalments: int
    sponsor_user_id: UUID | None
    answers: dict[str, Any]
    created_at: datetime
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    cancel_reason: CancelReason | None
    refund: Refund | None = Field(description="On cancellation: whether what was paid comes back (full | none)")
    decline_reason: str | None = None


class Participant(BaseModel):
    """The staff view of a registration: display names only, never contact details."""

    id: UUID
    display_name: str
    status: RegistrationStatus
    waitlist_position: int | None
    hold_expires_at: datetime | None
    checked_in_at: datetime | None
    sponsor_display_name: str | None
    care_team_display_name: str | None
    payment_overdue: bool
    answers: dict[str, Any] | None = Field(description="Only shown to the event's managers")
    created_at: datetime


class WaitlistMove(_In):
    position: int = Field(ge=1, le=100_000)


class Promote(_In):
    extend_capacity: bool = Field(
        default=False, description="When no seat is free, add one to the capacity for this person"
    )


class CareAssignment(_In):
    user_id: UUID | None = Field(description="A care-team member of the event; null removes the assignment")


class StaffCreate(_In):
    user_id: UUID
    role: StaffRole


class StaffMember(BaseModel):
    user_id: UUID
    display_name: str
    role: StaffRole
    assigned_registration_ids: list[UUID]
    created_at: datetime
