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


class Registration(StrictInput):
    email: Email
    password: NewPassword
    display_name: DisplayName


class ProfileUpdate(StrictInput):
    display_name: DisplayName


class Erasure(StrictInput):
    # Required when the account has a password; Google-only accounts confirm by being signed in.
    password: Annotated[str | None, Field(max_length=PASSWORD_MAX)] = None


class RegistrationAccepted(BaseModel):
    """The same answer whether or not the address already had an account."""

    status: str = "accepted"
    detail: str = "If the address can be used, a verification code is on its way."


class Me(BaseModel):
    id: UUID
    email: str | None
    email_verified: bool
    phone: str | None
    phone_verified: bool
    display_name: str
    roles: list[str]
    created_at: datetime
