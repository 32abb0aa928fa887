"""Pydantic schemas for Google sign-in."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field

from mcm_auth.accounts.schemas import StrictInput


class AuthorizationStart(BaseModel):
    authorization_url: str
    state: str


class AuthorizationResult(StrictInput):
    code: Annotated[str, Field(min_length=1, max_length=2048)]
    state: Annotated[str, Field(min_length=16, max_length=128)]
