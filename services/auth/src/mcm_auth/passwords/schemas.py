"""Pydantic schemas for password reset and change."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from mcm_auth.accounts.rules import EMAIL_MAX, PASSWORD_MAX, normalise_email
from mcm_auth.accounts.schemas import NewPassword, StrictInput


class ResetRequest(StrictInput):
    email: Annotated[str, Field(max_length=EMAIL_MAX * 2), AfterValidator(normalise_email)]


class ResetConfirm(StrictInput):
    token: Annotated[str, Field(min_length=1, max_length=256)]
    new_password: NewPassword


class PasswordChange(StrictInput):
    current_password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
    new_password: NewPassword


class Accepted(BaseModel):
    status: str = "accepted"
    detail: str = "If the address has an account, a reset link is on its way."
