"""Pydantic schemas for the user's own data."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from mcm_auth.accounts.rules import PASSWORD_MAX
from mcm_auth.accounts.schemas import StrictInput


class Erasure(StrictInput):
    # Required when the account has a password; Google-only accounts confirm by being signed in.
    password: Annotated[str | None, Field(max_length=PASSWORD_MAX)] = None
