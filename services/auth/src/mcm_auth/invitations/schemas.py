"""Pydantic schemas of invitations. The token never appears in any answer: it is in the email only."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from mcm_auth.accounts.schemas import Email, StrictInput
from mcm_shared.security import Role


class InvitationCreate(StrictInput):
    email: Email
    circle_id: uuid.UUID | None = None
    event_id: uuid.UUID | None = None
    roles: list[Role] = Field(default_factory=list, max_length=6)


class InvitationCreated(BaseModel):
    id: uuid.UUID
    expires_at: datetime


class InvitationOut(BaseModel):
    id: uuid.UUID
    email: str
    circle_id: uuid.UUID | None
    event_id: uuid.UUID | None
    roles: list[str]
    status: str = Field(description="pending | accepted | revoked | expired")
    invited_by: uuid.UUID | None
    expires_at: datetime
    created_at: datetime
    accepted_at: datetime | None
    accepted_by: uuid.UUID | None


class InvitationAccept(StrictInput):
    token: str = Field(min_length=16, max_length=200)


class InvitationAccepted(BaseModel):
    invitation_id: uuid.UUID
    circle_id: uuid.UUID | None
    event_id: uuid.UUID | None
    roles_granted: list[str]
