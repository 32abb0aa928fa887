"""Pydantic schemas for memberships (§11 "Membership out")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from mcm_circles.circles.schemas import MeetingPlace
from mcm_circles.schemas_common import PRINTABLE, Input, Output, bounded

Role = Literal["facilitator", "member"]
Reason = Annotated[str, bounded(500, 1), PRINTABLE]


class MemberAdd(Input):
    user_id: uuid.UUID
    role: Role = "member"


class RoleChange(Input):
    role: Role


class Decision(Input):
    reason: Reason | None = None


class MembershipEnd(Input):
    """Body of DELETE .../members/{user_id}: a reason is required when removing someone else."""

    reason: Reason | None = None


class Membership(Output):
    id: uuid.UUID
    circle_id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    role: Role
    status: Literal["pending", "active", "declined", "ended"]
    payment_status: str | None = Field(
        description="Only shown to the member himself, the circle's facilitators and staff; null otherwise"
    )
    flagged: bool | None = Field(None, description="Overdue dues flagged for follow-up (facilitators/staff only)")
    joined_at: datetime | None
    ended_at: datetime | None = None
    end_reason: str | None = None


class FlaggedMembership(Output):
    membership_id: uuid.UUID
    circle_id: uuid.UUID
    circle_name: str
    user_id: uuid.UUID
    display_name: str
    payment_status: str
    flagged_at: datetime


class MyMembership(Output):
    id: uuid.UUID
    circle_id: uuid.UUID
    circle_name: str
    role: Role
    status: str
    payment_status: str
    joined_at: datetime | None
    ended_at: datetime | None
    end_reason: str | None
    location: MeetingPlace | None = Field(
        default=None, description="Where the circle meets (address, video-call link); while active only"
    )


class InvitationAuthority(Output):
    """Answer of the internal route auth asks before sending a circle invitation."""

    circle_open: bool
    facilitator: bool
