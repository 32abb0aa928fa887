"""Pydantic schemas for transfer requests."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from mcm_circles.schemas_common import PRINTABLE, Input, Output, bounded

Message = Annotated[str, bounded(1000), PRINTABLE]
Note = Annotated[str, bounded(500), PRINTABLE]


class TransferCreate(Input):
    to_circle_id: uuid.UUID
    message: Message = ""


class TransferDecision(Input):
    note: Note | None = None


class TransferRequest(Output):
    id: uuid.UUID
    user_id: uuid.UUID
    display_name: str
    from_circle_id: uuid.UUID
    to_circle_id: uuid.UUID
    message: str
    status: Literal["pending", "approved", "declined", "cancelled"]
    to_membership_id: uuid.UUID | None
    decision_note: str | None
    decided_at: datetime | None
    created_at: datetime


class MemberMove(Input):
    to_circle_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=500, description="Why, for the audit trail and the member")


class MemberMoved(Output):
    """What a staff move did: the old membership ended (`transferred`), the new one started."""

    user_id: uuid.UUID
    from_circle_id: uuid.UUID
    to_circle_id: uuid.UUID
    from_membership_id: uuid.UUID
    to_membership_id: uuid.UUID
    payment_status: str = Field(description="Of the new membership: pending when the target circle has dues")
