"""Bodies of the real-time HTTP route."""

from __future__ import annotations

from pydantic import BaseModel, Field


class TicketOut(BaseModel):
    ticket: str = Field(description='Send it as the first frame: {"type": "auth", "ticket": …}. Single use.')
    expires_in: int = Field(description="Seconds it stays valid.")
