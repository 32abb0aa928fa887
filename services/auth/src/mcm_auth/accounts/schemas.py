"""Pydantic schemas for accounts. Inputs forbid unknown fields, so a client can never set
roles, verification flags or ids."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from mcm_auth.accounts.rules import (
    DISPLAY_NAME_MAX,
    EMAIL_MAX,
    PASSWORD_MAX,
    check_password,
    clean_display_name,
    normalise_email,
)

Email = Annotated[str, Field(max_length=EMAIL_MAX * 2), AfterValidator(normalise_email)]
NewPassword = Annotated[str, Field(max_length=PASSWORD_MAX), AfterValidator(check_password)]
DisplayName = Annotated[str, Field(max_length=DISPLAY_NAME_MAX * 4), AfterValidator(clean_display_name)]


class StrictInput(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class ProfileUpdate(StrictInput):
    display_name: DisplayName


class Me(BaseModel):
    id: UUID
    email: str | None
    email_verified: bool
    phone: str | None
    phone_verified: bool
    display_name: str
    roles: list[str]
    created_at: datetime
