"""Pydantic schemas for sign-in and sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, Field

from mcm_auth.accounts.rules import EMAIL_MAX, PASSWORD_MAX, normalise_email
from mcm_auth.accounts.schemas import StrictInput


class Login(StrictInput):
    email: Annotated[str, Field(max_length=EMAIL_MAX * 2), AfterValidator(normalise_email)]
    # No length minimum here: old passwords may predate today's rules; the cap bounds hashing work.
    password: Annotated[str, Field(min_length=1, max_length=PASSWORD_MAX)]
    # The emailed one-time code, when the previous answer was `sign-in-code-required`.
    code: Annotated[str | None, Field(pattern=r"^[0-9]{6}$")] = None


class Refresh(StrictInput):
    # Absent when a browser sends the HttpOnly cookie instead (sessions/cookie.py).
    refresh_token: Annotated[str | None, Field(min_length=1, max_length=256)] = None


class TokenPair(BaseModel):
    access_token: str
    # None when it was delivered as the HttpOnly cookie (`X-Refresh-Cookie: 1`): no script sees it.
    refresh_token: str | None
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 (the OAuth token type, not a secret)
    expires_in: int


class SessionInfo(BaseModel):
    id: UUID
    user_agent: str | None
    ip_address: str | None
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    current: bool
