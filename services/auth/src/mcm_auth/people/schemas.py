"""Bodies of the staff-for-a-member endpoints."""

from __future__ import annotations

from pydantic import BaseModel

from mcm_auth.accounts.schemas import StrictInput
from mcm_auth.admin.schemas import Reason


class ErasureOnBehalf(StrictInput):
    reason: Reason  # who asked, and how the admin checked it was him


class Sent(BaseModel):
    """A message went to the member's own address; the answer says no more (no address, no token)."""

    status: str = "sent"
