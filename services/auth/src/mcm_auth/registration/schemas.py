"""Pydantic schemas for registration."""

from __future__ import annotations

from pydantic import BaseModel

from mcm_auth.accounts.schemas import DisplayName, Email, NewPassword, StrictInput


class Registration(StrictInput):
    email: Email
    password: NewPassword
    display_name: DisplayName


class RegistrationAccepted(BaseModel):
    """The same answer whether or not the address already had an account."""

    status: str = "accepted"
    detail: str = "If the address can be used, a verification code is on its way."
