"""Pydantic schemas for user administration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from mcm_auth.accounts.schemas import StrictInput
from mcm_shared.security import Role

# Why a change was made is required: the audit log is only useful if it says.
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=500)]


class UserSummary(BaseModel):
    id: UUID
    email: str | None
    display_name: str
    roles: list[str]
    email_verified: bool
    phone_verified: bool
    disabled: bool
    created_at: datetime


class RolesUpdate(StrictInput):
    roles: Annotated[list[Role], Field(min_length=1, max_length=len(Role))]
    reason: Reason


class StatusChange(StrictInput):
    reason: Reason


class AuditRecord(BaseModel):
    id: UUID
    actor_id: UUID | None
    subject_id: UUID
    action: str
    details: dict[str, Any]
    reason: str
    created_at: datetime
