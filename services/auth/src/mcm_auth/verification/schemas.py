"""Pydantic schemas for verification."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from mcm_auth.accounts.schemas import StrictInput
from mcm_auth.verification.phones import normalise_phone


class CodeIn(StrictInput):
    code: Annotated[str, Field(pattern=r"^\d{6}$")]


class PhoneIn(StrictInput):
    phone: Annotated[str, Field(min_length=3, max_length=32), AfterValidator(normalise_phone)]


class CodeSent(BaseModel):
    status: str = "sent"
    expires_in: int
